//! Logging into Apache's error log, tagged `[wsgi:LEVEL]` through the module's name.

use super::ffi;
use super::slots::module_index;
use super::pool::cstring;

#[derive(Clone, Copy)]
pub enum Level {
    Error = ffi::APLOG_ERR as isize,
    Warning = ffi::APLOG_WARNING as isize,
    Notice = ffi::APLOG_NOTICE as isize,
    Info = ffi::APLOG_INFO as isize,
    Debug = ffi::APLOG_DEBUG as isize,
}

/// Logs against a server (startup, child lifecycle). `server` may be null.
///
/// # Safety
/// `server` is null or a live server_rec.
pub(super) unsafe fn server(level: Level, server: *const ffi::server_rec, msg: &str) {
    let msg = cstring(msg);
    // SAFETY: the shim formats with "%s"; `msg` is NUL-terminated; the server is null or live (the caller's guarantee).
    unsafe {
        ffi::wsgi_shim_log_error(c"mod_wsgi_rs".as_ptr(), 0, module_index(), level as i32, 0, server, msg.as_ptr())
    };
}

/// Logs against a request: Apache adds `[client ip:port]` and the request's log id.
///
/// # Safety
/// `r` is the live request being handled.
pub(super) unsafe fn request(level: Level, r: *const ffi::request_rec, msg: &str) {
    let msg = cstring(msg);
    // SAFETY: `r` is the live request being handled (the caller's guarantee); the shim formats with "%s".
    unsafe {
        ffi::wsgi_shim_log_rerror(c"mod_wsgi_rs".as_ptr(), 0, module_index(), level as i32, 0, r, msg.as_ptr())
    };
}

/// Logs for the process when no server is known yet (Apache's main error log).
pub fn process(level: Level, msg: &str) {
    // SAFETY: a null server is allowed.
    unsafe { server(level, std::ptr::null(), msg) }
}
