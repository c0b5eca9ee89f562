//! Server and child lifecycle: startup checks, the version banner, Python in each child.

use crate::apache::ffi;
use crate::apache::log::{self, Level};
use crate::apache::module::server_config_of;
use crate::apache::server;
use crate::python::{gil, glue, runtime};
use crate::wsgi::callbacks;
use std::sync::atomic::{AtomicPtr, Ordering};

pub fn version_component() -> String {
    format!("mod_wsgi_rs/{} Python/{}", env!("CARGO_PKG_VERSION"), crate::config::embedded_python_version())
}

/// Runs before Apache starts serving (and for `apachectl -t`).
pub fn check_config(s: *mut ffi::server_rec) -> Result<(), String> {
    if server::other_mod_wsgi_loaded() {
        return Err("mod_wsgi_rs cannot run in the same Apache as mod_wsgi: both provide the WSGI* directives. \
                    Remove the other LoadModule wsgi_module line (Debian: a2dismod wsgi)."
            .into());
    }
    if server::is_config_test() {
        warn_shadowed_aliases(s);
    }
    Ok(())
}

/// Once per (re)start, with the configuration Apache will serve.
pub fn post_config(s: *mut ffi::server_rec) {
    if server::is_final_config_pass() {
        warn_shadowed_aliases(s);
    }
}

/// mod_wsgi silently routes /api/v1 to `/` when `WSGIScriptAlias /` comes first; we say so.
fn warn_shadowed_aliases(main: *mut ffi::server_rec) {
    let mut seen = std::collections::HashSet::new();
    for s in server::all_servers(main) {
        let aliases = &server_config_of(s).aliases;
        let prefixes: Vec<Option<&str>> = aliases
            .iter()
            .map(|a| match &a.matcher {
                crate::config::AliasMatcher::Prefix(p) => Some(p.as_str()),
                crate::config::AliasMatcher::Regex { .. } => None,
            })
            .collect();
        for (earlier, later) in crate::config::alias::shadowed_pairs(&prefixes) {
            let (a, b) = (&aliases[earlier], &aliases[later]);
            if !seen.insert((a.origin.clone(), b.origin.clone())) {
                continue;
            }
            log::server(
                Level::Warning,
                s,
                &format!(
                    "WSGIScriptAlias {} (line {} of {}) is never used: WSGIScriptAlias {} (line {} of {}) comes first and matches all its URLs. Put the longer URL-path first.",
                    prefix_of(b), b.origin.line, b.origin.file, prefix_of(a), a.origin.line, a.origin.file
                ),
            );
        }
    }
}

fn prefix_of(a: &crate::config::ScriptAlias) -> &str {
    match &a.matcher {
        crate::config::AliasMatcher::Prefix(p) => p,
        crate::config::AliasMatcher::Regex { source, .. } => source,
    }
}

static MAIN_SERVER: AtomicPtr<ffi::server_rec> = AtomicPtr::new(std::ptr::null_mut());

fn log_to_server(line: &str) {
    log::server(Level::Error, MAIN_SERVER.load(Ordering::Relaxed), line);
}

/// Starts Python in a new Apache child. Returns whether it is running (to stop it at exit).
pub fn child_init(s: *mut ffi::server_rec) -> bool {
    MAIN_SERVER.store(s, Ordering::Relaxed);
    let pid = std::process::id();
    let config = server_config_of(s);
    log::server(Level::Info, s, &format!("mod_wsgi (pid={pid}): Initializing Python {}.", crate::config::embedded_python_version()));
    if let Err(msg) = runtime::initialize(&config.python) {
        log::server(Level::Error, s, &format!("mod_wsgi (pid={pid}): Python failed to initialize: {msg}"));
        return false;
    }
    callbacks::set_server_log(log_to_server);
    let threads = server::mpm_threads_per_child();
    let processes = server::mpm_max_processes();
    let info = glue::ProcessInfo {
        multithread: threads > 1,
        multiprocess: processes > 1,
        maximum_processes: processes,
        threads_per_process: threads,
        apache_version: server::server_version(),
        server_description: server::server_description(),
        process_group: String::new(),
        application_group: String::new(),
    };
    let installed = gil::with_main_interpreter(|py| {
        glue::install(py, &info, &callbacks::module_natives(), &config.python.path).map_err(|_| {
            let exc = crate::python::exceptions::take_exception(py);
            exc.map(|e| crate::python::exceptions::traceback_lines(py, &e).join("\n")).unwrap_or_default()
        })
    });
    if let Err(trace) = installed {
        log::server(Level::Error, s, &format!("mod_wsgi (pid={pid}): setting up the mod_wsgi module failed:"));
        for line in trace.lines() {
            log::server(Level::Error, s, line);
        }
    }
    true
}
