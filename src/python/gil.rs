//! Thread states and the GIL. Each OS thread gets one `PyThreadState` for the main interpreter
//! on first use and keeps it for its life: thread-locals persist across requests and we never
//! create/destroy a state per request (what `PyGILState_Ensure` would do).

use pyo3::Python;
use pyo3::ffi;
use std::cell::Cell;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

// No destructor: a thread-local with one would pin the DSO (Apache dlcloses us on restart).
thread_local! {
    static MAIN_STATE: Cell<*mut ffi::PyThreadState> = const { Cell::new(ptr::null_mut()) };
    static THREAD_INDEX: Cell<usize> = const { Cell::new(0) };
}

static READY: AtomicBool = AtomicBool::new(false);
static THREADS_SEEN: AtomicUsize = AtomicUsize::new(0);

/// Python is initialised in this process and accepting work.
pub fn is_ready() -> bool {
    READY.load(Ordering::Acquire)
}

/// Called by runtime::initialize on the thread that initialised Python, which holds the GIL:
/// keeps its state as this thread's and releases the GIL.
pub(crate) fn adopt_initial_thread_and_release() {
    // SAFETY: called right after Py_InitializeFromConfig on the same thread, GIL held.
    let state = unsafe { ffi::PyEval_SaveThread() };
    MAIN_STATE.with(|c| c.set(state));
    READY.store(true, Ordering::Release);
}

pub(crate) fn mark_stopped() {
    READY.store(false, Ordering::Release);
}

/// A small stable number for this worker thread (environ `mod_wsgi.thread_id`).
pub fn thread_index() -> usize {
    THREAD_INDEX.with(|c| {
        if c.get() == 0 {
            c.set(THREADS_SEEN.fetch_add(1, Ordering::Relaxed) + 1);
        }
        c.get()
    })
}

fn main_thread_state() -> *mut ffi::PyThreadState {
    MAIN_STATE.with(|c| {
        if c.get().is_null() {
            // SAFETY: Python is initialised (callers check is_ready); PyThreadState_New may be
            // called without the GIL and registers the state for PyGILState on this thread.
            let state = unsafe { ffi::PyThreadState_New(ffi::PyInterpreterState_Main()) };
            c.set(state);
        }
        c.get()
    })
}

/// Runs `f` in the main interpreter, holding the GIL once for the whole call.
pub fn with_main_interpreter<R>(f: impl FnOnce(Python<'_>) -> R) -> R {
    let state = main_thread_state();
    // SAFETY: `state` belongs to this thread and is not current (we never nest: callers are
    // Apache hooks, which do not run inside Python).
    unsafe { ffi::PyEval_RestoreThread(state) };
    // SAFETY: this thread now holds the GIL until the SaveThread below; the token does not
    // escape `f`.
    let result = f(unsafe { Python::assume_attached() });
    // SAFETY: releases the GIL taken above; `state` stays cached for this thread.
    unsafe { ffi::PyEval_SaveThread() };
    result
}

/// Runs blocking work (socket I/O) with the GIL released.
pub fn without_gil<R>(_py: Python<'_>, f: impl FnOnce() -> R) -> R {
    // SAFETY: the caller holds the GIL (proved by the token); it is re-taken before returning.
    let state = unsafe { ffi::PyEval_SaveThread() };
    let result = f();
    // SAFETY: restores the state saved above on the same thread.
    unsafe { ffi::PyEval_RestoreThread(state) };
    result
}

/// Takes the GIL for interpreter shutdown; Py_FinalizeEx leaves it released itself.
pub(crate) fn with_main_interpreter_for_shutdown(f: impl FnOnce()) {
    let state = main_thread_state();
    // SAFETY: as in with_main_interpreter; Py_FinalizeEx (inside f) consumes the state.
    unsafe { ffi::PyEval_RestoreThread(state) };
    f();
    MAIN_STATE.with(|c| c.set(ptr::null_mut()));
}
