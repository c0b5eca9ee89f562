//! Process-wide facts from Apache: MPM limits, server version, loaded modules.

use super::ffi;
use super::log::{self, Level};
use super::pool::{Pool, cstr_opt, cstring};
use super::slots::module_ptr;
use std::marker::PhantomData;

/// A server_rec (the main server or a virtual host), valid for 'a. Read-only once the
/// configuration is loaded, so any thread may use it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Server<'a> {
    s: *mut ffi::server_rec,
    _life: PhantomData<&'a ffi::server_rec>,
}

// SAFETY: a server_rec is not written after configuration; logging against one is thread-safe.
unsafe impl Send for Server<'_> {}
// SAFETY: as above.
unsafe impl Sync for Server<'_> {}

impl<'a> Server<'a> {
    /// # Safety
    /// `s` must be a server_rec Apache handed us (or reachable from one), alive for 'a.
    pub unsafe fn from_raw(s: *mut ffi::server_rec) -> Server<'a> {
        Server { s, _life: PhantomData }
    }

    pub fn raw(self) -> *mut ffi::server_rec {
        self.s
    }

    /// Logs against this server (startup, child lifecycle).
    pub fn log(self, level: Level, msg: &str) {
        // SAFETY: a Server is a live server_rec (from_raw's contract).
        unsafe { log::server(level, self.s, msg) };
    }

    /// This server and every virtual host after it (from the main server: all of them).
    pub fn and_following(self) -> Vec<Server<'a>> {
        let mut out = Vec::new();
        let mut s = self.s;
        while !s.is_null() {
            out.push(Server { s, _life: PhantomData });
            // SAFETY: server_rec.next links Apache's server list, fixed after config load.
            s = unsafe { (*s).next };
        }
        out
    }
}

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
    // SAFETY: the description is a static string of the server, set at startup.
    unsafe { cstr_opt(ffi::ap_get_server_description()) }.unwrap_or("Apache").to_string()
}

/// Adds "mod_wsgi_rs/x.y Python/3.z" to the Server header and SERVER_SOFTWARE.
pub fn add_version_component(pconf: Pool<'_>, component: &str) {
    let c = super::pool::pstrdup(pconf, component);
    // SAFETY: the string lives in pconf, as Apache requires for version components.
    unsafe { ffi::ap_add_version_component(pconf.raw(), c) };
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

/// The `User`/`Group` Apache's children run as (uid, gid), and the user's name.
pub fn apache_user() -> (u32, u32, String) {
    // SAFETY: ap_unixd_config is filled by mod_unixd while reading the config; read-only after.
    unsafe {
        let c = &*(&raw const ffi::ap_unixd_config);
        (c.user_id, c.group_id, cstr_opt(c.user_name).unwrap_or("www-data").to_string())
    }
}

/// Closes Apache's listening sockets in a process that will never serve HTTP (daemons).
pub fn close_apache_listeners() {
    // SAFETY: closes the listener descriptors of this (forked) process only.
    unsafe { ffi::ap_close_listeners() };
}

/// Shows `title` for this process in `ps` (display-name), over Apache's argv.
pub fn set_process_title(s: Server<'_>, title: &str) {
    let (argv, len) = argv_area(s.raw());
    // SAFETY: argv_area is this (forked daemon) process's own argv, which nothing reads any more.
    unsafe { crate::sys::process::set_process_title(argv, len, title) };
}

/// The writable argv area of this process (argv[0] through the end of the last argument).
fn argv_area(s: *mut ffi::server_rec) -> (*mut u8, usize) {
    // SAFETY: process_rec holds the real argv of the process; its strings are contiguous.
    unsafe {
        let process = (*s).process;
        if process.is_null() || (*process).argc < 1 {
            return (std::ptr::null_mut(), 0);
        }
        let argv = (*process).argv;
        let first = *argv as *mut u8;
        let last = *argv.add((*process).argc as usize - 1);
        let end = last.add(std::ffi::CStr::from_ptr(last).to_bytes().len());
        (first, end as usize - first as usize + 1)
    }
}

/// `DefaultRuntimeDir`-relative path (mod_wsgi's default socket prefix is `<runtime>/wsgi`).
pub fn runtime_dir_relative(pool: Pool<'_>, name: &str) -> String {
    let n = super::pool::cstring(name);
    // SAFETY: allocates the result in a live pool; read before the pool can go.
    unsafe { cstr_opt(ffi::ap_runtime_dir_relative(pool.raw(), n.as_ptr())) }.unwrap_or(name).to_string()
}

/// How many times Apache has (re)loaded its configuration.
pub fn config_generation() -> i32 {
    // SAFETY: ap_state_query only reads process state.
    unsafe { ffi::ap_state_query(ffi::AP_SQ_CONFIG_GEN) }
}

/// What Apache's MPM tells about a process registered with `watch_other_child`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OtherChildEvent {
    Died,
    /// Apache is restarting or stopping (or unregistering the process).
    Stopping,
    Other,
}

struct Watched {
    proc_: ffi::apr_proc_t,
    key: usize,
    on_event: fn(OtherChildEvent, usize),
}

unsafe extern "C" fn other_child_event(reason: i32, data: *mut std::ffi::c_void, _status: i32) {
    // SAFETY: `data` is the Watched we registered, alive as long as the pool it lives in.
    let w = unsafe { &*(data as *const Watched) };
    let event = match reason {
        ffi::APR_OC_REASON_DEATH => OtherChildEvent::Died,
        ffi::APR_OC_REASON_RESTART | ffi::APR_OC_REASON_UNREGISTER => OtherChildEvent::Stopping,
        _ => OtherChildEvent::Other,
    };
    (w.on_event)(event, w.key);
}

/// Registers `pid` with Apache's monitoring of "other children": the MPM reports its death
/// (about once a second) and tells us first thing when Apache restarts or stops, while it
/// still waits for its own children. Returns a handle for `unwatch_other_child`.
pub fn watch_other_child(pool: Pool<'_>, pid: i32, key: usize, on_event: fn(OtherChildEvent, usize)) -> usize {
    let proc_ = ffi::apr_proc_t { pid, in_: std::ptr::null_mut(), out: std::ptr::null_mut(), err: std::ptr::null_mut() };
    let w = super::pool::pool_box(pool, Watched { proc_, key, on_event });
    // SAFETY: `w` (and the apr_proc_t inside) lives in `pool`, the same pool APR registers the entry in, so it outlives the registration.
    unsafe { ffi::apr_proc_other_child_register(&mut (*w).proc_, Some(other_child_event), w as *mut std::ffi::c_void, std::ptr::null_mut(), pool.raw()) };
    w as usize
}

pub fn unwatch_other_child(handle: usize) {
    // SAFETY: `handle` is the data pointer of a registration made by watch_other_child.
    unsafe { ffi::apr_proc_other_child_unregister(handle as *mut std::ffi::c_void) };
}

/// This Apache process is shutting down (its MPM is stopping).
pub fn is_stopping() -> bool {
    mpm_query(ffi::AP_MPMQ_MPM_STATE) == ffi::AP_MPMQ_STOPPING as i64
}

/// The MPM's name, as mod_wsgi reports it: "event", "worker" or "prefork".
pub fn mpm_name() -> String {
    // SAFETY: ap_show_mpm returns a static string naming the loaded MPM.
    unsafe { cstr_opt(ffi::ap_show_mpm()) }.unwrap_or("").to_string()
}
