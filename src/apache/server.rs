//! Process-wide facts from Apache: MPM limits, server version, loaded modules.

use super::ffi;
use super::module::module_ptr;
use super::pool::{cstr_opt, cstring};

fn mpm_query(what: i32) -> i64 {
    let mut value: i32 = 0;
    // SAFETY: ap_mpm_query writes one int for the queried code.
    let status = unsafe { ffi::ap_mpm_query(what, &mut value) };
    if status == 0 { value as i64 } else { 0 }
}

/// Threads per child process (1 for prefork).
pub fn mpm_threads_per_child() -> i64 {
    mpm_query(ffi::AP_MPMQ_MAX_THREADS).max(1)
}

/// The most child processes the MPM may run.
pub fn mpm_max_processes() -> i64 {
    mpm_query(ffi::AP_MPMQ_MAX_DAEMONS).max(1)
}

pub fn server_version() -> (i64, i64, i64) {
    let mut v = ffi::ap_version_t::default();
    // SAFETY: fills a caller-provided struct.
    unsafe { ffi::ap_get_server_revision(&mut v) };
    (v.major as i64, v.minor as i64, v.patch as i64)
}

pub fn server_description() -> String {
    // SAFETY: returns a static string owned by Apache.
    cstr_opt(unsafe { ffi::ap_get_server_description() }).unwrap_or("Apache").to_string()
}

/// Adds "mod_wsgi_rs/x.y Python/3.z" to the Server header and SERVER_SOFTWARE.
pub fn add_version_component(pconf: *mut ffi::apr_pool_t, component: &str) {
    let c = super::pool::pstrdup(pconf, component);
    // SAFETY: the string lives in pconf, as Apache requires for version components.
    unsafe { ffi::ap_add_version_component(pconf, c) };
}

/// Another module named mod_wsgi.c (the original mod_wsgi, compiled in or loaded under a
/// different LoadModule line) alongside us.
pub fn other_mod_wsgi_loaded() -> bool {
    let name = cstring("mod_wsgi.c");
    // SAFETY: walking Apache's module list (read-only after config load).
    unsafe {
        let mut m = ffi::ap_top_module;
        while !m.is_null() {
            if m != module_ptr() && !(*m).name.is_null() && std::ffi::CStr::from_ptr((*m).name) == name.as_c_str() {
                return true;
            }
            m = (*m).next;
        }
    }
    false
}

/// `apachectl -t` / `apache2 -t`.
pub fn is_config_test() -> bool {
    // SAFETY: ap_state_query only reads process state.
    unsafe { ffi::ap_state_query(ffi::AP_SQ_RUN_MODE) == ffi::AP_SQ_RM_CONFIG_TEST }
}

/// The configuration pass whose result Apache serves (not the first, throw-away pass).
pub fn is_final_config_pass() -> bool {
    // SAFETY: as above.
    unsafe { ffi::ap_state_query(ffi::AP_SQ_MAIN_STATE) == ffi::AP_SQ_MS_CREATE_CONFIG }
}

/// The main server and every virtual host.
pub fn all_servers(main: *mut ffi::server_rec) -> Vec<*mut ffi::server_rec> {
    let mut out = Vec::new();
    let mut s = main;
    while !s.is_null() {
        out.push(s);
        // SAFETY: server_rec.next links Apache's server list, fixed after config load.
        s = unsafe { (*s).next };
    }
    out
}
