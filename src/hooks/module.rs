//! The exported `wsgi_module` struct and hook registration: where Apache enters the crate.

use super::{auth, directives as commands, process as hooks, route};
use crate::apache::ffi;
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

/// A NULL-terminated list of module names for hook ordering.
struct HookOrder([*const std::os::raw::c_char; 2]);
// SAFETY: immutable; points at 'static C strings.
unsafe impl Sync for HookOrder {}

/// Run after mod_alias, so a plain `Alias` wins over WSGIScriptAlias (mod_wsgi's order).
static AFTER_ALIAS: HookOrder = HookOrder([c"mod_alias.c".as_ptr(), ptr::null()]);

unsafe extern "C" fn register_hooks(pool: *mut ffi::apr_pool_t) {
    // SAFETY: Apache calls register_hooks for the struct it loaded, which stays put while loaded.
    unsafe { crate::apache::slots::bind_module(&raw mut wsgi_module) };
    // SAFETY: Apache passes register_hooks its live configuration pool.
    auth::register(unsafe { crate::apache::Pool::from_raw(pool) });
    // SAFETY: registering hook functions with Apache during register_hooks, as the API expects; the predecessor list is a 'static NULL-terminated array.
    unsafe {
        ffi::ap_hook_pre_config(Some(hooks::pre_config), ptr::null(), ptr::null(), ffi::APR_HOOK_MIDDLE);
        ffi::ap_hook_check_config(Some(hooks::check_config), ptr::null(), ptr::null(), ffi::APR_HOOK_MIDDLE);
        ffi::ap_hook_post_config(Some(hooks::post_config), ptr::null(), ptr::null(), ffi::APR_HOOK_MIDDLE);
        ffi::ap_hook_child_init(Some(hooks::child_init), ptr::null(), ptr::null(), ffi::APR_HOOK_MIDDLE);
        ffi::ap_hook_translate_name(Some(route::translate_name), AFTER_ALIAS.0.as_ptr(), ptr::null(), ffi::APR_HOOK_MIDDLE);
        ffi::ap_hook_handler(Some(super::handler::handler), ptr::null(), ptr::null(), ffi::APR_HOOK_MIDDLE);
    }
}
