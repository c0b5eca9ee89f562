//! Hook entry points: convert Apache's raw arguments and call the safe code.

use super::ffi;
use super::log::{self, Level};
use super::pool::pool_box;
use super::request::Request;

pub unsafe extern "C" fn pre_config(_pconf: *mut ffi::apr_pool_t, _plog: *mut ffi::apr_pool_t, _ptemp: *mut ffi::apr_pool_t) -> i32 {
    super::commands::forget_previous_pass();
    ffi::OK
}

pub unsafe extern "C" fn check_config(
    _pconf: *mut ffi::apr_pool_t,
    _plog: *mut ffi::apr_pool_t,
    _ptemp: *mut ffi::apr_pool_t,
    s: *mut ffi::server_rec,
) -> i32 {
    match crate::lifecycle::check_config(s) {
        Ok(()) => ffi::OK,
        Err(msg) => {
            log::server(Level::Error, s, &msg);
            ffi::HTTP_INTERNAL_SERVER_ERROR
        }
    }
}

pub unsafe extern "C" fn post_config(
    pconf: *mut ffi::apr_pool_t,
    _plog: *mut ffi::apr_pool_t,
    _ptemp: *mut ffi::apr_pool_t,
    s: *mut ffi::server_rec,
) -> i32 {
    super::server::add_version_component(pconf, &crate::lifecycle::version_component());
    match crate::lifecycle::post_config(pconf, s) {
        Ok(()) => ffi::OK,
        Err(msg) => {
            log::server(Level::Error, s, &msg);
            ffi::HTTP_INTERNAL_SERVER_ERROR
        }
    }
}

/// Owned by the child pool: dropping it (at child exit) stops Python.
struct ChildPython(*mut ffi::server_rec);

impl Drop for ChildPython {
    fn drop(&mut self) {
        crate::lifecycle::child_exit(self.0);
    }
}

pub unsafe extern "C" fn child_init(pchild: *mut ffi::apr_pool_t, s: *mut ffi::server_rec) {
    if crate::lifecycle::child_init(s) {
        let _: *mut ChildPython = pool_box(pchild, ChildPython(s));
    }
}

pub unsafe extern "C" fn translate_name(r: *mut ffi::request_rec) -> i32 {
    // SAFETY: Apache passes the live request being translated.
    crate::mapping::translate(unsafe { Request::from_raw(r) })
}

pub unsafe extern "C" fn handler(r: *mut ffi::request_rec) -> i32 {
    // SAFETY: Apache passes the live request being handled.
    crate::embedded::handle(unsafe { Request::from_raw(r) })
}

