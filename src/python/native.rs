//! Native callables without pyo3's `#[pyclass]`/`#[pyfunction]` (their type objects and
//! statics are process-wide, unsafe with sub-interpreters): a static `PyMethodDef` bound to a
//! `PyCapsule` that carries per-request Rust state. Capsules and bound C functions are built-in
//! types, so this works the same in every interpreter.

use super::exceptions::{PyRes, Raised};
use pyo3::ffi;
use pyo3::prelude::*;
use std::cell::UnsafeCell;
use std::ffi::{CStr, c_void};

/// A `PyMethodDef` that can live in a `static` (CPython wants a `*mut` to it).
pub struct MethodDef(UnsafeCell<ffi::PyMethodDef>);

// SAFETY: CPython only reads the definition after creation; we never mutate it.
unsafe impl Sync for MethodDef {}

/// Signature of a METH_FASTCALL|METH_KEYWORDS function.
pub type FastCall = unsafe extern "C" fn(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject;

impl MethodDef {
    pub const fn new(name: &'static CStr, func: FastCall, doc: &'static CStr) -> MethodDef {
        MethodDef(UnsafeCell::new(ffi::PyMethodDef {
            ml_name: name.as_ptr(),
            ml_meth: ffi::PyMethodDefPointer { PyCFunctionFastWithKeywords: func },
            ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
            ml_doc: doc.as_ptr(),
        }))
    }

    /// The definition of native function `N`.
    pub const fn of<N: Native>(name: &'static CStr, doc: &'static CStr) -> MethodDef {
        MethodDef::new(name, trampoline::<N>, doc)
    }

    /// A callable object for this function with `slf` as its first C argument.
    pub fn bind<'py>(&'static self, py: Python<'py>, slf: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        // SAFETY: the definition is 'static; PyCFunction_New returns a new reference or NULL with an exception set; slf is a live object.
        unsafe {
            let f = ffi::PyCFunction_New(self.0.get(), slf.as_ptr());
            Bound::from_owned_ptr_or_err(py, f)
        }
    }
}

/// A Rust type that can live in a capsule; its name tells capsules of different types apart,
/// which is what makes `capsule_ref` safe.
pub trait CapsuleType: 'static {
    const NAME: &'static CStr;
}

unsafe extern "C" fn drop_capsule<T: CapsuleType>(capsule: *mut ffi::PyObject) {
    // SAFETY: CPython calls the destructor once, with the GIL held, for a capsule made by `capsule::<T>` from Box<T>::into_raw under T::NAME.
    unsafe {
        let p = ffi::PyCapsule_GetPointer(capsule, T::NAME.as_ptr());
        if !p.is_null() {
            drop(Box::from_raw(p as *mut T));
        }
    }
}

/// Wraps `value` in a capsule that drops it when the last reference goes.
pub fn capsule<'py, T: CapsuleType>(py: Python<'py>, value: T) -> PyResult<Bound<'py, PyAny>> {
    let raw = Box::into_raw(Box::new(value));
    // SAFETY: raw is a valid heap pointer owned by the new capsule; on failure we reclaim it.
    unsafe {
        let cap = ffi::PyCapsule_New(raw as *mut c_void, T::NAME.as_ptr(), Some(drop_capsule::<T>));
        if cap.is_null() {
            drop(Box::from_raw(raw));
        }
        Bound::from_owned_ptr_or_err(py, cap)
    }
}

/// The value inside `obj` if it is a capsule made by `capsule::<T>`; borrowed for as long as
/// `obj` keeps the capsule alive.
pub fn capsule_ref<'a, T: CapsuleType>(obj: &'a Bound<'_, PyAny>) -> Option<&'a T> {
    // SAFETY: PyCapsule_IsValid checks the object is a capsule with T's name (so the pointer is a live Box<T> owned by it); no exception is set by either call on this path.
    unsafe {
        if ffi::PyCapsule_IsValid(obj.as_ptr(), T::NAME.as_ptr()) == 0 {
            return None;
        }
        (ffi::PyCapsule_GetPointer(obj.as_ptr(), T::NAME.as_ptr()) as *const T).as_ref()
    }
}

/// The Rust body of a native function: `slf` is what the function was bound to (None when
/// unbound or bound to None).
pub type NativeBody = for<'py> fn(Python<'py>, Option<&Bound<'py, PyAny>>, &Args<'py>) -> PyRes<Bound<'py, PyAny>>;

/// Runs `body` for a METH_FASTCALL|METH_KEYWORDS call.
///
/// # Safety
/// Must be called by CPython's calling convention: GIL held, arguments as CPython passed them.
pub unsafe fn dispatch(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
    body: NativeBody,
) -> *mut ffi::PyObject {
    // SAFETY: per the contract the GIL is held and the arguments are CPython's.
    let (py, slf, args) = unsafe {
        let py = Python::assume_attached();
        let slf = (!slf.is_null() && slf != ffi::Py_None()).then(|| Bound::from_borrowed_ptr(py, slf));
        (py, slf, collect_args(py, args, nargs, kwnames))
    };
    into_return(body(py, slf.as_ref(), &args))
}

/// A native function's Rust body; `trampoline::<Self>` is its `extern "C"` entry point, so
/// the code defining a native function needs no unsafe.
pub trait Native {
    const BODY: NativeBody;
}

/// The `extern "C"` entry point CPython calls for `N`.
///
/// # Safety
/// Only CPython calls it, through a MethodDef, with the GIL held and its own arguments.
pub unsafe extern "C" fn trampoline<N: Native>(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this entry point with the GIL held and its own arguments.
    unsafe { dispatch(slf, args, nargs, kwnames, N::BODY) }
}

/// Declares `$name` as the native function whose body is `$body` (a `NativeBody`), for
/// `MethodDef::of::<$name>`.
#[macro_export]
macro_rules! native_function {
    ($name:ident => $body:path) => {
        #[allow(non_camel_case_types)]
        struct $name;
        impl $crate::python::native::Native for $name {
            const BODY: $crate::python::native::NativeBody = $body;
        }
    };
}

/// Positional and keyword arguments of a fastcall, as borrowed objects.
pub struct Args<'py> {
    pub positional: Vec<Bound<'py, PyAny>>,
    pub keywords: Vec<(String, Bound<'py, PyAny>)>,
}

/// Collects fastcall arguments.
///
/// # Safety
/// `args`, `nargs` and `kwnames` must be the arguments CPython passed to a fastcall function.
unsafe fn collect_args<'py>(
    py: Python<'py>,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> Args<'py> {
    // SAFETY: decoding the flag bits of a vectorcall argument count.
    let n = unsafe { ffi::PyVectorcall_NARGS(nargs as usize) } as usize;
    let mut positional = Vec::with_capacity(n);
    let mut keywords = Vec::new();
    // SAFETY: CPython passes n positional references followed by one per keyword name; all are borrowed for the duration of the call.
    unsafe {
        for i in 0..n {
            positional.push(Bound::from_borrowed_ptr(py, *args.add(i)));
        }
        if !kwnames.is_null() {
            let count = ffi::PyTuple_Size(kwnames) as usize;
            for j in 0..count {
                let name_obj = Bound::from_borrowed_ptr(py, ffi::PyTuple_GetItem(kwnames, j as ffi::Py_ssize_t));
                let name = name_obj.cast::<pyo3::types::PyString>().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                keywords.push((name, Bound::from_borrowed_ptr(py, *args.add(n + j))));
            }
        }
    }
    Args { positional, keywords }
}

/// Converts a Rust result into what a C function returns to CPython.
pub fn into_return(result: Result<Bound<'_, PyAny>, Raised>) -> *mut ffi::PyObject {
    match result {
        Ok(obj) => obj.into_ptr(),
        Err(Raised) => std::ptr::null_mut(),
    }
}

/// A str from latin-1 bytes (PEP 3333: environ values are "native strings" of bytes).
pub fn latin1<'py>(py: Python<'py>, bytes: &[u8]) -> Bound<'py, PyAny> {
    // SAFETY: latin-1 decoding cannot fail for any byte sequence; returns a new reference.
    unsafe {
        let s = ffi::PyUnicode_DecodeLatin1(bytes.as_ptr() as *const _, bytes.len() as ffi::Py_ssize_t, std::ptr::null());
        Bound::from_owned_ptr(py, s)
    }
}

/// A capsule carrying a raw pointer it does not own (e.g. `apache.request_rec`). The pointer
/// is only stored, never dereferenced here.
#[allow(clippy::not_unsafe_ptr_arg_deref)]
pub fn pointer_capsule<'py>(py: Python<'py>, ptr: *mut c_void, name: &'static CStr) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: no destructor; the name is 'static as CPython requires; GIL held.
    unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyCapsule_New(ptr, name.as_ptr(), None)) }
}

/// Raises `kind` asynchronously in the thread whose ident is `thread` (in the current
/// interpreter), as mod_wsgi does for request-timeout with interrupt-timeout.
pub fn raise_in_thread(_py: Python<'_>, thread: u64, kind: &Bound<'_, PyAny>) {
    // SAFETY: GIL held (token); SetAsyncExc only records the exception for that thread.
    unsafe { ffi::PyThreadState_SetAsyncExc(thread as _, kind.as_ptr()) };
}
