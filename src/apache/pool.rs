//! APR pools as a safe handle: Rust values owned by a pool, C strings copied into one, and
//! reading the C strings Apache hands us.

use super::ffi;
use std::ffi::{CStr, CString, c_void};
use std::marker::PhantomData;

/// A live APR pool, valid for 'a.
#[derive(Clone, Copy)]
pub struct Pool<'a> {
    pool: *mut ffi::apr_pool_t,
    _life: PhantomData<&'a ffi::apr_pool_t>,
}

// SAFETY: the APR calls made through a Pool (allocation, cleanup registration) are the ones
// Apache makes from its hooks on any thread of the process; a Pool is only handed out for
// pools Apache gave us for that hook (or for the process).
unsafe impl Send for Pool<'_> {}
// SAFETY: as above.
unsafe impl Sync for Pool<'_> {}

impl<'a> Pool<'a> {
    /// # Safety
    /// `pool` must be a live pool that outlives 'a, used as Apache allows for the hook it
    /// was passed to.
    pub unsafe fn from_raw(pool: *mut ffi::apr_pool_t) -> Pool<'a> {
        Pool { pool, _life: PhantomData }
    }

    pub fn raw(self) -> *mut ffi::apr_pool_t {
        self.pool
    }
}

unsafe extern "C" fn drop_boxed<T>(data: *mut c_void) -> ffi::apr_status_t {
    // SAFETY: `data` came from Box::into_raw in `pool_box::<T>` and this cleanup runs once.
    drop(unsafe { Box::from_raw(data as *mut T) });
    0
}

/// Moves `value` to the heap and ties its lifetime to `pool`: it is dropped when the pool is
/// cleared or destroyed. The pointer is valid until then.
pub fn pool_box<T>(pool: Pool<'_>, value: T) -> *mut T {
    let raw = Box::into_raw(Box::new(value));
    // SAFETY: `pool` is live (Pool's contract); the cleanup frees `raw` exactly once.
    unsafe { ffi::apr_pool_cleanup_register(pool.raw(), raw as *const c_void, Some(drop_boxed::<T>), Some(ffi::apr_pool_cleanup_null)) };
    raw
}

/// Copies `s` into `pool` as a NUL-terminated string (interior NULs are cut off).
pub fn pstrdup(pool: Pool<'_>, s: &str) -> *mut std::os::raw::c_char {
    pstrdup_bytes(pool, s.as_bytes())
}

/// Copies bytes into `pool` as a NUL-terminated string (cut at an interior NUL).
pub fn pstrdup_bytes(pool: Pool<'_>, bytes: &[u8]) -> *mut std::os::raw::c_char {
    let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    // SAFETY: apr_pstrmemdup copies `len` bytes from a valid slice into a live pool and NUL-terminates them.
    unsafe { ffi::apr_pstrmemdup(pool.raw(), bytes.as_ptr() as *const _, len) }
}

/// Reads a C string Apache gave us; None for NULL or non-UTF-8.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string that stays unchanged for 'a.
pub unsafe fn cstr_opt<'a>(p: *const std::os::raw::c_char) -> Option<&'a str> {
    // SAFETY: guaranteed by the caller.
    unsafe { cbytes_opt(p) }.and_then(|b| std::str::from_utf8(b).ok())
}

/// Like `cstr_opt` but keeps non-UTF-8 bytes (header values, URIs).
///
/// # Safety
/// As for `cstr_opt`.
pub unsafe fn cbytes_opt<'a>(p: *const std::os::raw::c_char) -> Option<&'a [u8]> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-null and NUL-terminated, unchanged for 'a (the caller's guarantee).
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
pub fn on_cleanup(pool: Pool<'_>, f: Box<dyn FnOnce()>) {
    let raw = Box::into_raw(Box::new(f));
    // SAFETY: the pool is live; the cleanup consumes `raw` exactly once; child_cleanup is a no-op so forked processes that exec do not run it.
    unsafe { ffi::apr_pool_cleanup_register(pool.raw(), raw as *const c_void, Some(run_cleanup), Some(ffi::apr_pool_cleanup_null)) };
}
