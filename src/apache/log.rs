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
pub fn server(level: Level, server: *const ffi::server_rec, msg: &str) {
    let msg = cstring(msg);
    // SAFETY: the shim formats with "%s"; `msg` is NUL-terminated; a null server is allowed.
    unsafe {
        ffi::wsgi_shim_log_error(c"mod_wsgi_rs".as_ptr(), 0, module_index(), level as i32, 0, server, msg.as_ptr())
    };
}

/// Logs against a request: Apache adds `[client ip:port]` and the request's log id.
pub fn request(level: Level, r: *const ffi::request_rec, msg: &str) {
    let msg = cstring(msg);
    // SAFETY: `r` is the live request being handled; the shim formats with "%s".
    unsafe {
        ffi::wsgi_shim_log_rerror(c"mod_wsgi_rs".as_ptr(), 0, module_index(), level as i32, 0, r, msg.as_ptr())
    };
}
