//! Interpreters: the main one (application group `%{GLOBAL}`) and one sub-interpreter per
//! other application group, created on first use. Each OS thread keeps one `PyThreadState`
//! per interpreter for its whole life (threading.local persists across requests; no state is
//! created or destroyed per request, which is what PyGILState_Ensure would do).
//!
//! pyo3's attach machinery assumes a single interpreter, so we switch interpreters with the
//! raw thread-state API and hand pyo3 a token (`Python::assume_attached`) inside that scope.

use super::admission::Admission;
use super::mod_wsgi::Glue;
use super::script::ScriptCache;
use pyo3::Python;
use pyo3::ffi;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

pub struct Interpreter {
    /// The application group: "" for the main interpreter.
    pub name: String,
    state: *mut ffi::PyInterpreterState,
    glue: OnceLock<Glue>,
    pub scripts: ScriptCache,
    /// Created with a GIL of its own (PEP 684): it runs in parallel with the others.
    own_gil: bool,
    /// Every thread state made for this interpreter, to delete them before Py_EndInterpreter.
    thread_states: Mutex<Vec<usize>>,
    /// The queue of request threads for this interpreter's GIL: its own, or the shared one.
    admission: &'static Admission,
}

/// Request threads of every interpreter that shares the main GIL.
static SHARED_GIL_ADMISSION: Admission = Admission::new();

// SAFETY: `state` and the thread-state addresses are only used with the GIL held (or, for
// creating thread states, through CPython calls that take the runtime's own lock).
unsafe impl Send for Interpreter {}
// SAFETY: as above; everything else is behind locks or set once.
unsafe impl Sync for Interpreter {}

impl Interpreter {
    fn new(name: &str, state: *mut ffi::PyInterpreterState, own_gil: bool) -> &'static Interpreter {
        // Interpreters live until the process exits.
        Box::leak(Box::new(Interpreter {
            name: name.to_string(),
            state,
            own_gil,
            glue: OnceLock::new(),
            scripts: ScriptCache::default(),
            thread_states: Mutex::new(Vec::new()),
            admission: if own_gil { Box::leak(Box::default()) } else { &SHARED_GIL_ADMISSION },
        }))
    }

    /// This interpreter's `mod_wsgi` glue, if its setup succeeded.
    pub fn glue(&self) -> Option<&Glue> {
        self.glue.get()
    }

    pub fn is_main(&self) -> bool {
        self.name.is_empty()
    }

    pub fn has_own_gil(&self) -> bool {
        self.own_gil
    }
}

/// How the process makes its interpreters.
#[derive(Clone, Copy)]
pub struct Setup {
    /// What each new interpreter needs before serving (its `mod_wsgi` module and settings).
    pub prepare: fn(Python<'_>, &Interpreter) -> Result<Glue, String>,
    /// Whether the sub-interpreter of this application group gets its own GIL.
    pub own_gil: fn(&str) -> bool,
}

static SETUP: OnceLock<Setup> = OnceLock::new();
static INTERPRETERS: Mutex<Vec<&'static Interpreter>> = Mutex::new(Vec::new());
static READY: AtomicBool = AtomicBool::new(false);

// Has a destructor (Vec), so it must never be touched in the Apache parent (it would pin our
// DSO); only child processes and daemon processes serve requests.
thread_local! {
    static STATES: RefCell<Vec<(usize, *mut ffi::PyThreadState)>> = const { RefCell::new(Vec::new()) };
}

/// Python is initialised in this process and accepting work.
pub fn is_ready() -> bool {
    READY.load(Ordering::Acquire)
}

/// Called right after Py_InitializeFromConfig on the thread that did it (GIL held): records
/// the main interpreter, sets it up, and releases the GIL. Returns the setup error, if any.
pub(crate) fn adopt_main(setup: Setup) -> Result<(), String> {
    let _ = SETUP.set(setup);
    // SAFETY: Python was just initialised on this thread, which holds the GIL.
    let (state, tstate) = unsafe { (ffi::PyInterpreterState_Main(), ffi::PyThreadState_Get()) };
    let main = Interpreter::new("", state, false);
    remember(main, tstate);
    // SAFETY: GIL held (see above); the token does not outlive this call.
    let setup_result = (setup.prepare)(unsafe { Python::assume_attached() }, main).map(|glue| {
        let _ = main.glue.set(glue);
    });
    INTERPRETERS.lock().unwrap_or_else(|e| e.into_inner()).push(main);
    // SAFETY: releases the GIL; this thread keeps `tstate` for the main interpreter.
    unsafe { ffi::PyEval_SaveThread() };
    READY.store(true, Ordering::Release);
    setup_result
}

fn remember(interp: &Interpreter, tstate: *mut ffi::PyThreadState) {
    interp.thread_states.lock().unwrap_or_else(|e| e.into_inner()).push(tstate as usize);
    STATES.with(|s| s.borrow_mut().push((interp as *const Interpreter as usize, tstate)));
}

/// This thread's state for `interp`, created on first use. The main interpreter's state is
/// always created first on a thread, so PyGILState (used by C extensions) maps to it.
fn thread_state(interp: &Interpreter) -> *mut ffi::PyThreadState {
    let key = interp as *const Interpreter as usize;
    if let Some(ts) = STATES.with(|s| s.borrow().iter().find(|(k, _)| *k == key).map(|(_, ts)| *ts)) {
        return ts;
    }
    if !interp.is_main() {
        if let Some(main) = main() {
            thread_state(main);
        }
    }
    // SAFETY: PyThreadState_New does not need the GIL (it takes the runtime's lock); the interpreter is alive until shutdown.
    let ts = unsafe { ffi::PyThreadState_New(interp.state) };
    remember(interp, ts);
    ts
}

pub fn main() -> Option<&'static Interpreter> {
    INTERPRETERS.lock().unwrap_or_else(|e| e.into_inner()).first().copied()
}

/// Runs `f` inside `interp`, holding the GIL once for the whole call. Must not be called
/// from inside Python (never nested).
pub fn with<R>(interp: &Interpreter, f: impl FnOnce(Python<'_>) -> R) -> R {
    let ts = thread_state(interp);
    // SAFETY: `ts` belongs to this thread and is not current (calls never nest).
    unsafe { ffi::PyEval_RestoreThread(ts) };
    // SAFETY: the GIL is held until SaveThread; the token does not escape `f`.
    let result = f(unsafe { Python::assume_attached() });
    // SAFETY: releases the GIL taken above.
    unsafe { ffi::PyEval_SaveThread() };
    result
}

/// `with` for a request: first waits its turn among the request threads of this GIL
/// (`admission`), so a crowd of threads does not convoy on the GIL.
pub fn with_admitted<R>(interp: &Interpreter, f: impl FnOnce(Python<'_>) -> R) -> R {
    let _admitted = interp.admission.enter();
    with(interp, f)
}

/// The interpreter for an application group, creating the sub-interpreter on first use.
/// Must be called without the GIL.
pub fn find_or_create(name: &str) -> Result<&'static Interpreter, String> {
    if !is_ready() {
        return Err("Python is not initialised in this process".into());
    }
    let mut all = INTERPRETERS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(found) = all.iter().find(|i| i.name == name) {
        return Ok(found);
    }
    let main = all[0];
    let main_ts = thread_state(main);
    let own_gil = SETUP.get().is_some_and(|setup| (setup.own_gil)(name));
    // SAFETY: takes the GIL with this thread's main state. Nobody holding the GIL waits for INTERPRETERS (lookups happen before entering Python), so holding it here cannot deadlock.
    unsafe { ffi::PyEval_RestoreThread(main_ts) };
    let Some(new_ts) = new_sub_interpreter(own_gil) else {
        // SAFETY: creation failed and left main_ts current; release the GIL.
        unsafe { ffi::PyEval_SaveThread() };
        return Err(format!("Python could not create a sub-interpreter for application group '{name}'"));
    };
    // SAFETY: new_ts is current and belongs to the new interpreter.
    let interp = Interpreter::new(name, unsafe { ffi::PyThreadState_GetInterpreter(new_ts) }, own_gil);
    remember(interp, new_ts);
    let setup = SETUP.get().copied();
    // SAFETY: the new interpreter's GIL is held with new_ts current until SaveThread below.
    let result = setup.map(|s| (s.prepare)(unsafe { Python::assume_attached() }, interp));
    // SAFETY: releases the GIL; this thread keeps new_ts for the new interpreter.
    unsafe { ffi::PyEval_SaveThread() };
    all.push(interp);
    match result {
        Some(Ok(glue)) => {
            let _ = interp.glue.set(glue);
            Ok(interp)
        }
        Some(Err(msg)) => Err(msg),
        None => Err("interpreter setup is not registered".into()),
    }
}

/// A new sub-interpreter, made with the main interpreter's GIL held; its thread state is
/// current on return. With `own_gil` it gets a GIL of its own and the main one is released
/// (PEP 684, as mod_wsgi 6's WSGIPerInterpreterGIL); otherwise it shares the main GIL, with
/// the legacy settings (fork, exec, daemon threads and any extension module allowed).
/// On failure the main thread state is current again.
#[cfg(python_own_gil)]
fn new_sub_interpreter(own_gil: bool) -> Option<*mut ffi::PyThreadState> {
    let config = if own_gil { ffi::_PyInterpreterConfig_INIT } else { ffi::_PyInterpreterConfig_LEGACY_INIT };
    let mut tstate = std::ptr::null_mut();
    // SAFETY: the caller holds the main GIL with a current thread state, as required; config outlives the call.
    let status = unsafe { ffi::Py_NewInterpreterFromConfig(&mut tstate, &config) };
    // SAFETY: status was just returned by CPython.
    let failed = unsafe { ffi::PyStatus_Exception(status) } != 0;
    (!failed && !tstate.is_null()).then_some(tstate)
}

#[cfg(not(python_own_gil))]
fn new_sub_interpreter(own_gil: bool) -> Option<*mut ffi::PyThreadState> {
    debug_assert!(!own_gil, "WSGIPerInterpreterGIL On is refused before Python 3.12");
    // SAFETY: the caller holds the main GIL with a current thread state, as required.
    let tstate = unsafe { ffi::Py_NewInterpreter() };
    (!tstate.is_null()).then_some(tstate)
}

/// Runs `f` in every interpreter (e.g. shutdown callbacks), main last. GIL must not be held.
pub fn for_each(mut f: impl FnMut(Python<'_>, &Interpreter)) {
    let all: Vec<_> = INTERPRETERS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for interp in all.iter().rev() {
        with(interp, |py| f(py, interp));
    }
}

/// Ends every sub-interpreter and finalises Python (atexit handlers run). Called once at
/// process exit, on a thread that is not in Python, after the worker threads have stopped.
pub fn shutdown(destroy: bool) {
    if !READY.swap(false, Ordering::AcqRel) || !destroy {
        return;
    }
    let all: Vec<_> = INTERPRETERS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let Some(main) = all.first() else { return };
    // An interpreter with its own GIL is ended under that GIL, before the main one is taken.
    for sub in all[1..].iter().filter(|i| i.own_gil) {
        let mine = thread_state(sub);
        // SAFETY: takes this interpreter's own GIL; no worker runs Python any more.
        unsafe { ffi::PyEval_RestoreThread(mine) };
        // SAFETY: its GIL is held with `mine` current; Py_EndInterpreter leaves no thread state current.
        unsafe { end_interpreter(sub, mine) };
    }
    let main_ts = thread_state(main);
    // SAFETY: takes the GIL with this thread's main state; no worker runs Python any more.
    unsafe { ffi::PyEval_RestoreThread(main_ts) };
    for sub in all[1..].iter().filter(|i| !i.own_gil) {
        let mine = thread_state(sub);
        // SAFETY: the shared GIL is held; `mine` is made current for Py_EndInterpreter, and main_ts after.
        unsafe {
            ffi::PyThreadState_Swap(mine);
            end_interpreter(sub, mine);
            ffi::PyThreadState_Swap(main_ts);
        }
    }
    // SAFETY: GIL held with the main interpreter's state current, as Py_FinalizeEx requires.
    unsafe { ffi::Py_FinalizeEx() };
}

/// Py_EndInterpreter needs `mine` current and to be the interpreter's last thread state, so
/// the idle states of finished workers are cleared and deleted first (none of them is current).
///
/// # Safety
/// `sub`'s GIL must be held with `mine`, this thread's state for `sub`, current.
unsafe fn end_interpreter(sub: &Interpreter, mine: *mut ffi::PyThreadState) {
    let others: Vec<usize> = sub.thread_states.lock().unwrap_or_else(|e| e.into_inner()).clone();
    // SAFETY: per this function's contract.
    unsafe {
        for other in others.into_iter().filter(|&t| t != mine as usize) {
            ffi::PyThreadState_Clear(other as *mut ffi::PyThreadState);
            ffi::PyThreadState_Delete(other as *mut ffi::PyThreadState);
        }
        ffi::Py_EndInterpreter(mine);
    }
}
