//! The exported `wsgi_module` struct, hook registration, and access to our slot in Apache's
//! config vectors.

use super::commands;
use super::ffi;
use super::hooks;
use crate::config::{DirSettings, ServerConfig};
use std::ffi::c_void;
use std::ptr;

/// Apache fills in `module_index`, `next` and friends at load time, so this must be a
/// writable static with an unmangled name matching `LoadModule wsgi_module ...`.
#[unsafe(no_mangle)]
pub static mut wsgi_module: ffi::module = ffi::module {
    version: ffi::MODULE_MAGIC_NUMBER_MAJOR as i32,
    minor_version: ffi::MODULE_MAGIC_NUMBER_MINOR as i32,
    module_index: -1,
    // The name makes Apache tag our log lines `[wsgi:...]`, as mod_wsgi's are.
    name: c"mod_wsgi.c".as_ptr(),
    dynamic_load_handle: ptr::null_mut(),
    next: ptr::null_mut(),
    magic: ffi::MODULE_MAGIC_COOKIE as u64,
    rewrite_args: None,
    create_dir_config: Some(commands::create_dir_config),
    merge_dir_config: Some(commands::merge_dir_config),
    create_server_config: Some(commands::create_server_config),
    merge_server_config: Some(commands::merge_server_config),
    cmds: &raw const commands::COMMANDS as *const ffi::command_rec,
    register_hooks: Some(register_hooks),
    flags: 0,
};

pub fn module_ptr() -> *mut ffi::module {
    &raw mut wsgi_module
}

pub fn module_index() -> i32 {
    // SAFETY: Apache writes module_index once at load time, before any hook or directive runs.
    unsafe { (*module_ptr()).module_index }
}

/// Our entry in a config vector (`ap_get_module_config`).
fn slot(vector: *mut ffi::ap_conf_vector_t) -> *mut c_void {
    // SAFETY: config vectors are arrays of void* indexed by module_index, sized by Apache for every loaded module.
    unsafe { *(vector as *mut *mut c_void).add(module_index() as usize) }
}

/// The (vhost-merged) config of a server, read-only: request threads read it at once.
/// Apache creates one for every server_rec.
pub fn server_config_of<'a>(s: *const ffi::server_rec) -> &'a ServerConfig {
    // SAFETY: module_config holds the ServerConfig we created for this server, in the config pool that outlives every request; after parsing it is only read.
    unsafe { &*(slot((*s).module_config) as *const ServerConfig) }
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
pub fn dir_config_from<'a>(mconfig: *mut c_void) -> &'a mut DirSettings {
    // SAFETY: for our directives, mconfig is the DirSettings from create_dir_config.
    unsafe { &mut *(mconfig as *mut DirSettings) }
}

/// A request's merged per-directory settings.
pub fn request_dir_config<'a>(r: *const ffi::request_rec) -> &'a DirSettings {
    // SAFETY: per_dir_config holds our merged DirSettings for the request's location.
    unsafe { &*(slot((*r).per_dir_config) as *const DirSettings) }
}

/// Per-request slot (`ap_set_module_config(r->request_config, ...)`).
pub fn set_request_note(r: *mut ffi::request_rec, value: *mut c_void) {
    // SAFETY: request_config is a per-request vector sized for every module.
    unsafe { *((*r).request_config as *mut *mut c_void).add(module_index() as usize) = value };
}

pub fn request_note(r: *const ffi::request_rec) -> *mut c_void {
    // SAFETY: see set_request_note.
    unsafe { slot((*r).request_config) }
}

/// A NULL-terminated list of module names for hook ordering.
struct HookOrder([*const std::os::raw::c_char; 2]);
// SAFETY: immutable; points at 'static C strings.
unsafe impl Sync for HookOrder {}

/// Run after mod_alias, so a plain `Alias` wins over WSGIScriptAlias (mod_wsgi's order).
static AFTER_ALIAS: HookOrder = HookOrder([c"mod_alias.c".as_ptr(), ptr::null()]);

unsafe extern "C" fn register_hooks(pool: *mut ffi::apr_pool_t) {
    super::auth::register(pool);
    // SAFETY: registering hook functions with Apache during register_hooks, as the API expects; the predecessor list is a 'static NULL-terminated array.
    unsafe {
        ffi::ap_hook_pre_config(Some(hooks::pre_config), ptr::null(), ptr::null(), ffi::APR_HOOK_MIDDLE);
        ffi::ap_hook_check_config(Some(hooks::check_config), ptr::null(), ptr::null(), ffi::APR_HOOK_MIDDLE);
        ffi::ap_hook_post_config(Some(hooks::post_config), ptr::null(), ptr::null(), ffi::APR_HOOK_MIDDLE);
        ffi::ap_hook_child_init(Some(hooks::child_init), ptr::null(), ptr::null(), ffi::APR_HOOK_MIDDLE);
        ffi::ap_hook_translate_name(Some(hooks::translate_name), AFTER_ALIAS.0.as_ptr(), ptr::null(), ffi::APR_HOOK_MIDDLE);
        ffi::ap_hook_handler(Some(hooks::handler), ptr::null(), ptr::null(), ffi::APR_HOOK_MIDDLE);
    }
}

/// Reads back an alias pointer stored with set_request_note.
pub fn alias_ref<'a>(p: *const crate::config::ScriptAlias) -> Option<&'a crate::config::ScriptAlias> {
    // SAFETY: only translate() stores this note, always pointing at an alias in the server config, which lives in the config pool for as long as requests are served.
    unsafe { p.as_ref() }
}
