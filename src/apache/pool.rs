//! Rust values owned by APR pools, and C strings copied into pools.

use super::ffi;
use std::ffi::{CStr, CString, c_void};

unsafe extern "C" fn drop_boxed<T>(data: *mut c_void) -> ffi::apr_status_t {
    // SAFETY: `data` came from Box::into_raw in `pool_box::<T>` and this cleanup runs once.
    drop(unsafe { Box::from_raw(data as *mut T) });
    0
}

/// Moves `value` to the heap and ties its lifetime to `pool`: it is dropped when the pool is
/// cleared or destroyed.
pub fn pool_box<T>(pool: *mut ffi::apr_pool_t, value: T) -> *mut T {
    let raw = Box::into_raw(Box::new(value));
    // SAFETY: `pool` is a live pool handed to us by Apache; the cleanup frees `raw` exactly once.
    unsafe { ffi::apr_pool_cleanup_register(pool, raw as *const c_void, Some(drop_boxed::<T>), Some(ffi::apr_pool_cleanup_null)) };
    raw
}

/// Copies `s` into `pool` as a NUL-terminated string (interior NULs are cut off).
pub fn pstrdup(pool: *mut ffi::apr_pool_t, s: &str) -> *mut std::os::raw::c_char {
    let bytes = s.as_bytes();
    let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    // SAFETY: apr_pstrmemdup copies `len` bytes from a valid slice and NUL-terminates them.
    unsafe { ffi::apr_pstrmemdup(pool, bytes.as_ptr() as *const _, len) }
}

/// Copies bytes into `pool` as a NUL-terminated string (cut at an interior NUL).
pub fn pstrdup_bytes(pool: *mut ffi::apr_pool_t, bytes: &[u8]) -> *mut std::os::raw::c_char {
    let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    // SAFETY: apr_pstrmemdup copies `len` bytes from a valid slice and NUL-terminates them.
    unsafe { ffi::apr_pstrmemdup(pool, bytes.as_ptr() as *const _, len) }
}

/// Reads a C string Apache gave us; None for NULL.
pub fn cstr_opt<'a>(p: *const std::os::raw::c_char) -> Option<&'a str> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-null strings from Apache are NUL-terminated and outlive the call that reads them.
    unsafe { CStr::from_ptr(p) }.to_str().ok()
}

/// Like `cstr_opt` but keeps non-UTF-8 bytes (header values, URIs).
pub fn cbytes_opt<'a>(p: *const std::os::raw::c_char) -> Option<&'a [u8]> {
    if p.is_null() {
        return None;
    }
    // SAFETY: as in `cstr_opt`.
    Some(unsafe { CStr::from_ptr(p) }.to_bytes())
}

pub fn cstring(s: &str) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

unsafe extern "C" fn run_cleanup(data: *mut c_void) -> ffi::apr_status_t {
    // SAFETY: `data` is the Box<Box<dyn FnOnce()>> leaked by on_cleanup; run once.
    let f = unsafe { Box::from_raw(data as *mut Box<dyn FnOnce()>) };
    f();
    0
}

/// Runs `f` when `pool` is cleared or destroyed (not in children that inherit the pool).
pub fn on_cleanup(pool: *mut ffi::apr_pool_t, f: Box<dyn FnOnce()>) {
    let raw = Box::into_raw(Box::new(f));
    // SAFETY: the cleanup consumes `raw` exactly once; child_cleanup is a no-op so forked processes that exec do not run it.
    unsafe { ffi::apr_pool_cleanup_register(pool, raw as *const c_void, Some(run_cleanup), Some(ffi::apr_pool_cleanup_null)) };
}
