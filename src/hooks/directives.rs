//! The command table Apache parses directives with, and the config vectors
//! (create/merge) that hold their results. Parsing itself is `crate::config`.

use crate::apache::cmd::Cmd;
use crate::apache::ffi;
use crate::apache::log::Level;
use crate::apache::pool::{Pool, cstr_opt, pool_box};
use crate::apache::slots::{dir_config_from, server_config_mut};
use crate::config::{self, AliasMatcher, DirSettings, Parsed, Scope, ScriptAlias, ServerConfig, table};
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set while Apache walks the body of a `<WSGIInterpreterOptions>` block (config parsing is
/// single-threaded).
static IN_OPTIONS_BLOCK: AtomicBool = AtomicBool::new(false);

/// WSGIDaemonProcess names seen in this configuration pass (names are server-wide).
static DAEMON_NAMES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Whether any access/auth/dispatch script is configured (Apache children then need Python
/// even with WSGIRestrictEmbedded On).
static HOOK_SCRIPTS_USED: AtomicBool = AtomicBool::new(false);

pub fn hook_scripts_used() -> bool {
    HOOK_SCRIPTS_USED.load(Ordering::Relaxed)
}

/// Called before each configuration pass.
pub fn forget_previous_pass() {
    DAEMON_NAMES.lock().unwrap_or_else(|e| e.into_inner()).clear();
    HOOK_SCRIPTS_USED.store(false, Ordering::Relaxed);
}

const N: usize = table::DIRECTIVES.len();

/// Apache's view of `table::DIRECTIVES`, terminated by an all-null entry.
#[repr(transparent)]
pub struct CommandTable(pub [ffi::command_rec; N + 1]);
// SAFETY: the table is never written; its pointers are to 'static C strings and functions.
unsafe impl Sync for CommandTable {}

pub static COMMANDS: CommandTable = CommandTable(build_table());

const fn req_override(spec: &table::DirectiveSpec) -> i32 {
    let c = spec.contexts;
    if let table::Status::NotYet(_) = spec.status {
        // Accept it anywhere, so the user sees our "not implemented yet" message, not Apache's
        // "not allowed here".
        return ffi::RSRC_CONF | ffi::ACCESS_CONF | ffi::OR_ALL;
    }
    // Any section of the main config reaches our parser, whose message says where the
    // directive belongs; in .htaccess the AllowOverride classes decide, as usual.
    let mut o = ffi::RSRC_CONF | ffi::ACCESS_CONF;
    if c.htaccess_fileinfo {
        o |= ffi::OR_FILEINFO;
    }
    if c.htaccess_authconfig {
        o |= ffi::OR_AUTHCFG;
    }
    o
}

const fn build_table() -> [ffi::command_rec; N + 1] {
    const END: ffi::command_rec = ffi::command_rec {
        name: ptr::null(),
        func: ffi::cmd_func { raw_args: None },
        cmd_data: ptr::null_mut(),
        req_override: 0,
        args_how: 0,
        errmsg: ptr::null(),
    };
    let mut t = [END; N + 1];
    let mut i = 0;
    while i < N {
        let spec = &table::DIRECTIVES[i];
        t[i] = ffi::command_rec {
            name: spec.cname.as_ptr(),
            func: ffi::cmd_func { raw_args: Some(handle_directive) },
            cmd_data: ptr::without_provenance_mut(i),
            req_override: req_override(spec),
            args_how: ffi::cmd_how_RAW_ARGS,
            errmsg: spec.csyntax.as_ptr(),
        };
        i += 1;
    }
    t
}

/// Every directive lands here; `cmd->info` is its index in `table::DIRECTIVES`.
unsafe extern "C" fn handle_directive(
    cmd: *mut ffi::cmd_parms,
    mconfig: *mut c_void,
    args: *const std::os::raw::c_char,
) -> *const std::os::raw::c_char {
    // SAFETY: Apache passes a valid cmd_parms and the directive's NUL-terminated arguments, for the duration of this call.
    let (cmd, raw) = unsafe { (Cmd::from_raw(cmd), cstr_opt(args).unwrap_or("")) };
    let spec = &table::DIRECTIVES[cmd.info()];
    let scope = cmd.scope();
    let in_block = IN_OPTIONS_BLOCK.load(Ordering::Relaxed);
    match config::parse_in(spec.name(), raw, scope, in_block).and_then(|parsed| store(cmd, mconfig, scope, in_block, parsed)) {
        Ok(()) => ptr::null(),
        Err(msg) => cmd.error(&msg),
    }
}

fn store(cmd: Cmd<'_>, mconfig: *mut c_void, scope: Scope, in_block: bool, parsed: Parsed) -> Result<(), String> {
    // Directives are stored while Apache parses its config, on one thread, and this is the
    // only reference to the server's config while the directive is handled.
    // SAFETY: see above (server_config_mut's contract).
    let server = unsafe { server_config_mut(cmd.server().raw()) };
    match parsed {
        Parsed::Alias { is_regex, pattern, target, options } => {
            let matcher = if is_regex {
                let Some(re) = cmd.compile_regex(&pattern) else {
                    return Err(format!("WSGIScriptAliasMatch: '{pattern}' is not a valid regular expression"));
                };
                AliasMatcher::Regex { source: pattern, compiled: std::sync::Arc::new(re) }
            } else {
                AliasMatcher::Prefix(pattern)
            };
            server.aliases.push(ScriptAlias { matcher, target, options, origin: cmd.origin() });
        }
        Parsed::Dir(d) => {
            if d.uses_hook_scripts() {
                HOOK_SCRIPTS_USED.store(true, Ordering::Relaxed);
            }
            let target = if scope == Scope::Directory {
                // SAFETY: in a directory section, mconfig is the DirSettings create_dir_config made for it, and parsing is single-threaded.
                unsafe { dir_config_from(mconfig) }
            } else {
                &mut server.dir
            };
            target.add_directive(&d);
        }
        Parsed::Python(p) => server.python.apply(p),
        Parsed::Interp(i) => match (in_block, server.options_blocks.last_mut()) {
            (true, Some(block)) => block.settings.apply(&i),
            _ => server.interp.apply(&i),
        },
        Parsed::Switches(w) => server.switches.apply(&w),
        Parsed::ImportScript(i) => server.import_scripts.push(i),
        Parsed::Daemon(group) => {
            let mut names = DAEMON_NAMES.lock().unwrap_or_else(|e| e.into_inner());
            if names.contains(&group.name) {
                return Err(format!("WSGIDaemonProcess '{}' is defined twice; daemon process group names are server-wide", group.name));
            }
            crate::daemon::accounts::check(&group)?;
            names.push(group.name.clone());
            server.daemons.push(group);
        }
        Parsed::OptionsBlock(block) => {
            server.options_blocks.push(block);
            IN_OPTIONS_BLOCK.store(true, Ordering::Relaxed);
            let walked = cmd.walk_block_body();
            IN_OPTIONS_BLOCK.store(false, Ordering::Relaxed);
            walked?;
        }
        Parsed::Notice(msg) => cmd.server().log(Level::Notice, &msg),
        Parsed::Telemetry(t) => server.telemetry.apply(&t),
        Parsed::SocketPrefix(prefix) => server.socket_prefix = Some(cmd.server_root_relative(&prefix)),
    }
    Ok(())
}

/// # Safety
/// Only Apache calls it, with the arguments its hook API passes.
pub unsafe extern "C" fn create_server_config(pool: *mut ffi::apr_pool_t, _s: *mut ffi::server_rec) -> *mut c_void {
    // SAFETY: Apache passes the live configuration pool.
    pool_box(unsafe { Pool::from_raw(pool) }, ServerConfig::default()) as *mut c_void
}

/// # Safety
/// Only Apache calls it, with the arguments its hook API passes.
pub unsafe extern "C" fn merge_server_config(pool: *mut ffi::apr_pool_t, base: *mut c_void, add: *mut c_void) -> *mut c_void {
    // SAFETY: Apache passes two configs we created in create/merge_server_config, and the live pool for the merged one.
    let (base, add, pool) = unsafe { (&*(base as *const ServerConfig), &*(add as *const ServerConfig), Pool::from_raw(pool)) };
    pool_box(pool, ServerConfig::merged(base, add)) as *mut c_void
}

/// # Safety
/// Only Apache calls it, with the arguments its hook API passes.
pub unsafe extern "C" fn create_dir_config(pool: *mut ffi::apr_pool_t, _dir: *mut std::os::raw::c_char) -> *mut c_void {
    // SAFETY: Apache passes the live configuration pool.
    pool_box(unsafe { Pool::from_raw(pool) }, DirSettings::default()) as *mut c_void
}

/// # Safety
/// Only Apache calls it, with the arguments its hook API passes.
pub unsafe extern "C" fn merge_dir_config(pool: *mut ffi::apr_pool_t, base: *mut c_void, add: *mut c_void) -> *mut c_void {
    // SAFETY: Apache passes two configs we created in create/merge_dir_config, and the live pool for the merged one.
    let (base, add, pool) = unsafe { (&*(base as *const DirSettings), &*(add as *const DirSettings), Pool::from_raw(pool)) };
    pool_box(pool, DirSettings::merged(base, add)) as *mut c_void
}
