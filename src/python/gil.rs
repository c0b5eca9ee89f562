//! Releasing the GIL around blocking work, and the worker-thread index.

use pyo3::Python;
use pyo3::ffi;
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

thread_local! {
    static THREAD_INDEX: Cell<usize> = const { Cell::new(0) };
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
    // SAFETY: restores the state saved above on the same thread.
    unsafe { ffi::PyEval_RestoreThread(state) };
    result
}
