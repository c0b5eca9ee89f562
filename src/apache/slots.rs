//! Our slots in Apache's config vectors, and which `module` struct is ours. The struct itself
//! is defined by the entry layer (`hooks::module`), which binds it here when Apache loads it.

use super::ffi;
use crate::config::{DirSettings, ScriptAlias, ServerConfig};
use std::ffi::c_void;
use std::sync::atomic::{AtomicPtr, Ordering};

static MODULE: AtomicPtr<ffi::module> = AtomicPtr::new(std::ptr::null_mut());

/// Called from register_hooks, which Apache runs when it loads the module (before any
/// directive, config vector or log line of ours).
///
/// # Safety
/// `module` must be the module struct Apache loaded, valid for as long as the module is loaded.
pub unsafe fn bind_module(module: *mut ffi::module) {
    MODULE.store(module, Ordering::Release);
}

pub fn module_ptr() -> *mut ffi::module {
    MODULE.load(Ordering::Acquire)
}

pub fn module_index() -> i32 {
    let m = module_ptr();
    if m.is_null() {
        return -1;
    }
    // SAFETY: bind_module's caller guarantees the struct lives while loaded; Apache writes module_index once, before register_hooks.
    unsafe { (*m).module_index }
}

/// Our entry in a config vector (`ap_get_module_config`).
fn slot(vector: *mut ffi::ap_conf_vector_t) -> *mut c_void {
    // SAFETY: config vectors are arrays of void* indexed by module_index, sized by Apache for every loaded module.
    unsafe { *(vector as *mut *mut c_void).add(module_index() as usize) }
}

/// The (vhost-merged) config of a server, read-only: request threads read it at once.
/// Apache creates one for every server_rec.
pub fn server_config_of<'a>(s: super::Server<'a>) -> &'a ServerConfig {
    // SAFETY: module_config holds the ServerConfig we created for this server, in the config pool that outlives every request; after parsing it is only read.
    unsafe { &*(slot((*s.raw()).module_config) as *const ServerConfig) }
}

/// The config of a server for a directive to fill in.
///
/// # Safety
/// Only while Apache parses the configuration (one thread, no request running), and with
/// no other reference to this server's config alive.
pub unsafe fn server_config_mut<'a>(s: *const ffi::server_rec) -> &'a mut ServerConfig {
    // SAFETY: the caller guarantees exclusive access during config parsing (see above).
    unsafe { &mut *(slot((*s).module_config) as *mut ServerConfig) }
}

/// The DirSettings Apache passed as `mconfig` to a directive in a directory context.
///
/// # Safety
/// `mconfig` must be the DirSettings our create_dir_config made, during config parsing
/// (one thread), with no other reference to it alive.
pub unsafe fn dir_config_from<'a>(mconfig: *mut c_void) -> &'a mut DirSettings {
    // SAFETY: guaranteed by the caller (see above).
    unsafe { &mut *(mconfig as *mut DirSettings) }
}

/// A request's merged per-directory settings.
pub fn request_dir_config<'r>(r: &super::request::Request<'r>) -> &'r DirSettings {
    // SAFETY: per_dir_config holds our merged DirSettings for the request's location, in a pool that outlives the request.
    unsafe { &*(slot((*r.raw()).per_dir_config) as *const DirSettings) }
}

/// Remembers on the request which alias mapped it (`ap_set_module_config`).
pub fn set_matched_alias<'r>(r: &super::request::Request<'r>, alias: &'r ScriptAlias) {
    // SAFETY: request_config is a per-request vector sized for every module.
    unsafe { *((*r.raw()).request_config as *mut *mut c_void).add(module_index() as usize) = alias as *const ScriptAlias as *mut c_void };
}

/// The alias set_matched_alias stored on this request, if any.
pub fn matched_alias<'r>(r: &super::request::Request<'r>) -> Option<&'r ScriptAlias> {
    // SAFETY: only set_matched_alias stores this note, always an alias in the server config, which lives in the config pool for as long as requests are served.
    unsafe { (slot((*r.raw()).request_config) as *const ScriptAlias).as_ref() }
}
