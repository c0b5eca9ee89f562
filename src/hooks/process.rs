//! Process hooks: configuration passes and child start-up. Each converts Apache's raw
//! arguments into the apache layer's safe handles and calls down.

use super::startup;
use crate::apache::log::Level;
use crate::apache::pool::pool_box;
use crate::apache::{Pool, Server, ffi};
use crate::host::python;

/// # Safety
/// Only Apache calls it, with the arguments its hook API passes.
pub unsafe extern "C" fn pre_config(_pconf: *mut ffi::apr_pool_t, _plog: *mut ffi::apr_pool_t, _ptemp: *mut ffi::apr_pool_t) -> i32 {
    super::directives::forget_previous_pass();
    ffi::OK
}

/// # Safety
/// Only Apache calls it, with the arguments its hook API passes.
pub unsafe extern "C" fn check_config(
    _pconf: *mut ffi::apr_pool_t,
    _plog: *mut ffi::apr_pool_t,
    _ptemp: *mut ffi::apr_pool_t,
    s: *mut ffi::server_rec,
) -> i32 {
    // SAFETY: Apache passes the main server, alive for this configuration.
    let s = unsafe { Server::from_raw(s) };
    answer(s, startup::check_config(s))
}

/// # Safety
/// Only Apache calls it, with the arguments its hook API passes.
pub unsafe extern "C" fn post_config(
    pconf: *mut ffi::apr_pool_t,
    _plog: *mut ffi::apr_pool_t,
    _ptemp: *mut ffi::apr_pool_t,
    s: *mut ffi::server_rec,
) -> i32 {
    // SAFETY: Apache passes the configuration pool and the main server; both last until pconf is cleared, and what keeps them (the daemon pools) is stopped by a cleanup on pconf.
    let (pconf, s) = unsafe { (Pool::<'static>::from_raw(pconf), Server::<'static>::from_raw(s)) };
    crate::apache::server::add_version_component(pconf, &startup::version_component());
    answer(s, startup::post_config(pconf, s))
}

fn answer(s: Server<'_>, result: Result<(), String>) -> i32 {
    match result {
        Ok(()) => ffi::OK,
        Err(msg) => {
            s.log(Level::Error, &msg);
            ffi::HTTP_INTERNAL_SERVER_ERROR
        }
    }
}

/// Owned by the child pool: dropping it (at child exit) stops Python.
struct ChildPython(Server<'static>);

impl Drop for ChildPython {
    fn drop(&mut self) {
        python::child_exit(self.0);
    }
}

/// # Safety
/// Only Apache calls it, with the arguments its hook API passes.
pub unsafe extern "C" fn child_init(pchild: *mut ffi::apr_pool_t, s: *mut ffi::server_rec) {
    // SAFETY: in a child, the main server lives for the whole process; pchild until child exit.
    let (pchild, s) = unsafe { (Pool::from_raw(pchild), Server::<'static>::from_raw(s)) };
    python::set_main_server(s);
    crate::daemon::pools::close_listeners_except(None);
    let threads = crate::apache::server::mpm_threads_per_child().max(1) as u32;
    crate::metrics::table::join(std::process::id(), "", crate::metrics::Kind::ApacheChild, threads, |p| crate::sys::process::exists(p as crate::sys::process::Pid));
    if !startup::embedded_python_needed(s) {
        s.log(Level::Info, &format!("mod_wsgi (pid={}): Python is not started in this process (WSGIRestrictEmbedded On).", std::process::id()));
        return;
    }
    if python::start_in_child(s) {
        let _: *mut ChildPython = pool_box(pchild, ChildPython(s));
    }
}
