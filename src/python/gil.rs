//! Releasing the GIL around blocking work, and the worker-thread index.

use pyo3::Python;
use pyo3::ffi;
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

thread_local! {
    static THREAD_INDEX: Cell<usize> = const { Cell::new(0) };
    /// Time this thread spent waiting to take the GIL back, and how often (mod_wsgi 6's
    /// gil_wait_time / gil_wait_count of a request are the difference over the request).
    static GIL_WAIT: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// (microseconds, times) this thread has waited to re-take the GIL so far.
pub fn gil_waits() -> (u64, u64) {
    GIL_WAIT.with(Cell::get)
}

static THREADS_SEEN: AtomicUsize = AtomicUsize::new(0);

/// A small stable number for this worker thread (environ `mod_wsgi.thread_id`).
pub fn thread_index() -> usize {
    THREAD_INDEX.with(|c| {
        if c.get() == 0 {
            c.set(THREADS_SEEN.fetch_add(1, Ordering::Relaxed) + 1);
        }
        c.get()
    })
}

/// Runs blocking work (socket I/O, waiting on a lock) with the GIL released.
pub fn without_gil<R>(_py: Python<'_>, f: impl FnOnce() -> R) -> R {
    // SAFETY: the caller holds the GIL (proved by the token); it is re-taken before returning.
    let state = unsafe { ffi::PyEval_SaveThread() };
    let result = f();
    let asked = std::time::Instant::now();
    // SAFETY: restores the state saved above on the same thread.
    unsafe { ffi::PyEval_RestoreThread(state) };
    let waited = asked.elapsed().as_micros() as u64;
    GIL_WAIT.with(|w| {
        let (us, n) = w.get();
        w.set((us + waited, n + 1));
    });
    result
}
