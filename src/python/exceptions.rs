//! Python exceptions without pyo3's `PyErr` outliving the call that made it: a dropped `PyErr`
//! holds `Py<T>`s whose decref pyo3 would defer to a global pool (we never "attach" through
//! pyo3, so it would leak, or later run in the wrong interpreter). So every error is put back
//! into the interpreter at once (`Raised`), and taken out with the raw C API.

use pyo3::ffi;
use pyo3::prelude::*;
use std::ffi::CString;

/// Marker: a Python exception is set in the current thread state.
#[derive(Debug)]
pub struct Raised;

pub type PyRes<T> = Result<T, Raised>;

pub trait OrRaise<T> {
    /// Turns a pyo3 error into a set Python exception.
    fn or_raise(self, py: Python<'_>) -> PyRes<T>;
}

impl<T> OrRaise<T> for PyResult<T> {
    fn or_raise(self, py: Python<'_>) -> PyRes<T> {
        self.map_err(|e| {
            e.restore(py);
            Raised
        })
    }
}

/// Takes the set exception out of the thread state, normalised, with its traceback attached.
pub fn take_exception<'py>(py: Python<'py>) -> Option<Bound<'py, PyAny>> {
    let (mut ty, mut value, mut tb) = (std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut());
    // SAFETY: GIL held (token); Fetch transfers ownership of three (possibly null) references.
    unsafe {
        ffi::PyErr_Fetch(&mut ty, &mut value, &mut tb);
        if ty.is_null() {
            return None;
        }
        ffi::PyErr_NormalizeException(&mut ty, &mut value, &mut tb);
        if !tb.is_null() && !value.is_null() {
            ffi::PyException_SetTraceback(value, tb);
        }
        ffi::Py_XDECREF(ty);
        ffi::Py_XDECREF(tb);
        if value.is_null() {
            return None;
        }
        Some(Bound::from_owned_ptr(py, value))
    }
}

/// Puts an exception taken with `take_exception` back (to re-raise it).
pub fn restore_exception(exc: Bound<'_, PyAny>) -> Raised {
    // SAFETY: PyErr_SetObject takes a borrowed type and value; GIL held via the Bound.
    unsafe { ffi::PyErr_SetObject(ffi::Py_TYPE(exc.as_ptr()) as *mut ffi::PyObject, exc.as_ptr()) };
    Raised
}

/// Whether `exc` is a SystemExit.
pub fn is_system_exit(exc: &Bound<'_, PyAny>) -> bool {
    // SAFETY: exc is a live object (GIL held through its Bound) and PyExc_SystemExit a type of the initialised runtime.
    unsafe { ffi::PyObject_IsInstance(exc.as_ptr(), ffi::PyExc_SystemExit) == 1 }
}

fn set(kind: *mut ffi::PyObject, msg: &str) -> Raised {
    let msg = CString::new(msg.replace('\0', "?")).unwrap_or_default();
    // SAFETY: kind is one of CPython's exception type objects; msg is NUL-terminated.
    unsafe { ffi::PyErr_SetString(kind, msg.as_ptr()) };
    Raised
}

pub fn runtime_error(_py: Python<'_>, msg: &str) -> Raised {
    // SAFETY: reading an exception type global of the initialised runtime.
    set(unsafe { ffi::PyExc_RuntimeError }, msg)
}

pub fn type_error(_py: Python<'_>, msg: &str) -> Raised {
    // SAFETY: as above.
    set(unsafe { ffi::PyExc_TypeError }, msg)
}

pub fn value_error(_py: Python<'_>, msg: &str) -> Raised {
    // SAFETY: as above.
    set(unsafe { ffi::PyExc_ValueError }, msg)
}

pub fn os_error(_py: Python<'_>, msg: &str) -> Raised {
    // SAFETY: as above.
    set(unsafe { ffi::PyExc_OSError }, msg)
}

/// What to do when an extension module cannot be imported because this sub-interpreter has
/// its own GIL: CPython then refuses every extension that does not declare per-interpreter GIL
/// support, with "module X does not support loading in subinterpreters". Looks through the
/// exception's causes (a package often re-raises the ImportError).
pub fn own_gil_import_hint(exc: &Bound<'_, PyAny>) -> Option<String> {
    const REFUSED: &str = " does not support loading in subinterpreters";
    let mut current = Some(exc.clone());
    for _ in 0..8 {
        let e = current.take()?;
        if e.is_instance_of::<pyo3::exceptions::PyImportError>() {
            let text = match e.str() {
                Ok(s) => s.to_string_lossy().into_owned(),
                Err(err) => {
                    swallow(exc.py(), err);
                    String::new()
                }
            };
            if let Some(module) = text.strip_suffix(REFUSED).and_then(|t| t.strip_prefix("module ")) {
                return Some(format!(
                    "Extension module '{module}' does not support a per-interpreter GIL, so it cannot be imported in a \
                     sub-interpreter with its own GIL (WSGIPerInterpreterGIL On). Run this application in the main \
                     interpreter with 'WSGIApplicationGroup %{{GLOBAL}}', or write 'WSGIPerInterpreterGIL Off' for its \
                     application group inside '<WSGIInterpreterOptions application-group=NAME>'."
                ));
            }
        }
        // every exception has both attributes (None when unset)
        current = ["__cause__", "__context__"].iter().find_map(|a| match e.getattr(*a) {
            Ok(c) if !c.is_none() => Some(c),
            Ok(_) => None,
            Err(err) => {
                swallow(exc.py(), err);
                None
            }
        });
    }
    None
}

/// The lines of a formatted traceback for `exc` ("Traceback (most recent call last):" ...),
/// with the own-GIL hint as a note when it applies.
pub fn traceback_lines(py: Python<'_>, exc: &Bound<'_, PyAny>) -> Vec<String> {
    if let Some(hint) = own_gil_import_hint(exc) {
        // __notes__ exists once a note was added; formatting twice must not note twice
        let noted = match exc.getattr("__notes__").and_then(|n| n.contains(&hint)) {
            Ok(found) => found,
            Err(e) => {
                swallow(py, e);
                false
            }
        };
        if !noted && let Err(e) = exc.call_method1("add_note", (hint,)) {
            swallow(py, e);
        }
    }
    let formatted = py
        .import("traceback")
        .and_then(|tb| tb.call_method1("format_exception", (exc.get_type(), exc, exc.getattr("__traceback__")?)))
        .and_then(|parts| parts.extract::<Vec<String>>());
    match formatted {
        Ok(parts) => parts.concat().lines().map(str::to_string).collect(),
        Err(e) => {
            swallow(py, e);
            vec![format!("{} (traceback unavailable)", describe(exc))]
        }
    }
}

/// Discards an error that has already been accounted for, releasing its references now.
pub fn swallow(py: Python<'_>, e: PyErr) {
    e.restore(py);
    drop(take_exception(py));
}

/// "TypeName: message" of an exception.
pub fn describe(exc: &Bound<'_, PyAny>) -> String {
    let py = exc.py();
    let name = match exc.get_type().name() {
        Ok(n) => n.to_string(),
        Err(e) => {
            swallow(py, e);
            "Exception".into()
        }
    };
    match exc.str() {
        Ok(s) if !s.to_string_lossy().is_empty() => format!("{name}: {}", s.to_string_lossy()),
        Ok(_) => name,
        Err(e) => {
            swallow(py, e);
            name
        }
    }
}


/// Raises the exception of an `exc_info` (type, value, traceback) tuple.
pub fn raise_exc_info(py: Python<'_>, exc_info: &Bound<'_, PyAny>) -> Raised {
    let parts: Option<Vec<Bound<'_, PyAny>>> =
        exc_info.cast::<pyo3::types::PyTuple>().ok().filter(|t| t.len() == 3).map(|t| t.iter().collect());
    let Some(parts) = parts else { return type_error(py, "exc_info must be a (type, value, traceback) tuple") };
    let tb = if parts[2].is_none() { std::ptr::null_mut() } else { parts[2].clone().into_ptr() };
    // SAFETY: PyErr_Restore steals one reference to each; into_ptr hands over ours. GIL held.
    unsafe { ffi::PyErr_Restore(parts[0].clone().into_ptr(), parts[1].clone().into_ptr(), tb) };
    Raised
}
