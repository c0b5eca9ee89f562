//! Python in a process: start-up (an Apache child or a daemon process), preloaded scripts,
//! shutdown callbacks and finalisation.

use crate::apache::log::Level;
use crate::apache::server;
use crate::apache::slots::server_config_of;
use crate::apache::Server;
use crate::config::{GroupSpec, InterpSettings, OptionsBlock, interpreter_settings};
use crate::python::interp::{self, Interpreter};
use crate::python::{exceptions, mod_wsgi, runtime, script};
use crate::wsgi::callbacks;
use pyo3::prelude::*;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// The main server of this process, for log lines with no request.
static MAIN_SERVER: OnceLock<Server<'static>> = OnceLock::new();

pub fn log_level(level: crate::wsgi::transport::LogLevel) -> Level {
    use crate::wsgi::transport::LogLevel as L;
    match level {
        L::Error => Level::Error,
        L::Warning => Level::Warning,
        L::Info => Level::Info,
        L::Debug => Level::Debug,
    }
}

/// A line for the process's error log, against its main server.
pub fn log_to_server(level: crate::wsgi::transport::LogLevel, line: &str) {
    match MAIN_SERVER.get() {
        Some(s) => s.log(log_level(level), line),
        None => crate::apache::log::process(log_level(level), line),
    }
}

/// What every interpreter of this process is set up from.
struct ProcessContext {
    info: mod_wsgi::ProcessInfo,
    interp: InterpSettings,
    blocks: Vec<OptionsBlock>,
    eggs: Option<String>,
    server_metrics: bool,
    telemetry: bool,
}

static PROCESS: OnceLock<ProcessContext> = OnceLock::new();

/// Builds the `mod_wsgi` module and applies the interpreter's settings (also for each
/// sub-interpreter, when it is created).
fn setup_interpreter(py: Python<'_>, interp: &Interpreter) -> Result<mod_wsgi::Glue, String> {
    let ctx = PROCESS.get().ok_or("process context missing")?;
    let settings = interpreter_settings(&ctx.interp, &ctx.blocks, &ctx.info.process_group, &interp.name);
    if !interp.is_main() {
        // mod_wsgi 6's line, in its words
        let mode = match ctx.info.process_group.as_str() {
            "" => "embedded mode".to_string(),
            group => format!("daemon process '{group}'"),
        };
        let gil = if interp.has_own_gil() { " with own GIL" } else { "" };
        log_to_server(crate::wsgi::transport::LogLevel::Info, &format!("Creating sub-interpreter '{}' in {mode}{gil}.", interp.name));
    }
    let options = mod_wsgi::InterpreterOptions {
        python_path: settings.python_path,
        restrict_stdin: settings.restrict_stdin.unwrap_or(false),
        restrict_stdout: settings.restrict_stdout.unwrap_or(false),
        restrict_signal: settings.restrict_signal.unwrap_or(true),
        switch_interval: settings.switch_interval,
        python_eggs: ctx.eggs.clone(),
        server_metrics: ctx.server_metrics,
        telemetry: ctx.telemetry,
    };
    let info = mod_wsgi::ProcessInfo { application_group: interp.name.clone(), ..ctx.info.clone() };
    mod_wsgi::install(py, &info, &callbacks::module_natives(), &options).map_err(|_| {
        let trace = exceptions::take_exception(py).map(|e| exceptions::traceback_lines(py, &e).join("\n")).unwrap_or_default();
        format!("setting up interpreter '{}' failed:\n{trace}", interp.name)
    })
}

/// WSGIPerInterpreterGIL for the sub-interpreter of `application_group` in this process.
/// The main interpreter (`%{GLOBAL}`) always keeps the shared GIL.
fn wants_own_gil(application_group: &str) -> bool {
    let Some(ctx) = PROCESS.get() else { return false };
    !application_group.is_empty()
        && interpreter_settings(&ctx.interp, &ctx.blocks, &ctx.info.process_group, application_group).per_interpreter_gil == Some(true)
}

/// This Apache child's pid, taken once in child_init: environ's `mod_wsgi.server_pid` is set
/// on every request, and glibc makes each getpid() a system call.
static CHILD_PID: AtomicU32 = AtomicU32::new(0);

pub fn child_pid() -> u32 {
    match CHILD_PID.load(Ordering::Relaxed) {
        0 => std::process::id(),
        pid => pid,
    }
}

/// This process's main server, once it is known (child_init, or a daemon process's start).
pub fn set_main_server(s: Server<'static>) {
    let _ = MAIN_SERVER.set(s);
    CHILD_PID.store(std::process::id(), Ordering::Relaxed);
}

/// Starts Python in a new Apache child. Returns whether it is running (to stop it at exit).
pub fn start_in_child(s: Server<'static>) -> bool {
    let config = server_config_of(s);
    let threads = server::mpm_threads_per_child();
    let processes = server::mpm_max_processes();
    let context = ProcessContext {
        info: process_info(threads > 1, processes > 1, processes, threads, ""),
        interp: config.interp.clone(),
        blocks: config.options_blocks.clone(),
        eggs: config.python.eggs.clone(),
        server_metrics: config.switches.server_metrics.unwrap_or(false),
        telemetry: config.telemetry.socket.is_some(),
    };
    let switch = main_switch_interval(&context);
    let started = start_python(s, context, &config.python, "");
    // As mod_wsgi: every child that may serve embedded requests reports, even one that
    // only proxies to daemons; none under WSGIRestrictEmbedded On.
    if started && !config.switches.restrict_embedded.unwrap_or(false) {
        super::report::start(s, config, "", threads.max(1) as u64, switch);
    }
    started
}

/// WSGISwitchInterval as it applies to the main interpreter of this process.
fn main_switch_interval(ctx: &ProcessContext) -> Option<f64> {
    interpreter_settings(&ctx.interp, &ctx.blocks, &ctx.info.process_group, "").switch_interval
}

fn process_info(multithread: bool, multiprocess: bool, processes: i64, threads: i64, group: &str) -> mod_wsgi::ProcessInfo {
    mod_wsgi::ProcessInfo {
        multithread,
        multiprocess,
        maximum_processes: processes,
        threads_per_process: threads,
        apache_version: server::server_version(),
        server_description: server::server_description(),
        process_group: group.to_string(),
        application_group: String::new(),
    }
}

/// Starts Python in a daemon process of pool `g` (after its privileges were dropped).
pub fn start_daemon_python(s: Server<'static>, g: &crate::config::daemon::DaemonGroup) -> bool {
    set_main_server(s);
    let config = server_config_of(s);
    let mut python = config.python.clone();
    if g.python_home.is_some() {
        python.home = g.python_home.clone();
    }
    // home= is sys.path[0], then python-path=, at the front (as mod_wsgi).
    let mut interp = InterpSettings { python_path: g.home.iter().cloned().chain(g.python_path.iter().cloned()).collect(), ..config.interp.clone() };
    interp.switch_interval = g.switch_interval.or(interp.switch_interval);
    let context = ProcessContext {
        info: process_info(g.threads != 1, g.processes_given, g.processes as i64, g.threads as i64, &g.name),
        interp,
        blocks: config.options_blocks.clone(),
        eggs: g.python_eggs.clone().or_else(|| config.python.eggs.clone()),
        server_metrics: g.server_metrics,
        telemetry: config.telemetry.socket.is_some(),
    };
    let switch = main_switch_interval(&context);
    let started = start_python(s, context, &python, &g.name);
    // threads=0 (a service script's process) serves no requests, and does not report.
    if started && g.threads > 0 {
        super::report::start(s, config, &g.name, g.threads as u64, switch);
    }
    started
}

fn start_python(s: Server<'_>, context: ProcessContext, python: &crate::config::PythonSettings, process_group: &str) -> bool {
    let pid = std::process::id();
    let _ = PROCESS.set(context);
    // mod_wsgi 6's start-up lines, in its words
    let mode = if process_group.is_empty() { "embedded mode".to_string() } else { format!("daemon process '{process_group}'") };
    if let Some(home) = &python.home {
        s.log(Level::Info, &format!("Python home set to '{home}' for {mode}."));
    }
    s.log(Level::Info, &format!("Initializing Python runtime in {mode}."));
    callbacks::set_server_log(log_to_server);
    match runtime::initialize(python, interp::Setup { prepare: setup_interpreter, own_gil: wants_own_gil }) {
        Err(msg) => {
            s.log(Level::Error, &format!("mod_wsgi (pid={pid}): Python failed to initialize: {msg}"));
            return false;
        }
        Ok(Err(msg)) => log_lines(s, &format!("mod_wsgi (pid={pid}): {msg}")),
        Ok(Ok(())) => {}
    }
    preload_scripts(s, process_group);
    // Start-up leaves freed memory in the middle of the heap, where malloc does not give it
    // back on its own: ~0.5 MB resident in every Python process for its whole life.
    crate::sys::process::release_free_heap();
    true
}

/// In a daemon process at exit: shutdown callbacks, then Python stops.
pub fn stop_python(s: Server<'_>, reason: &str) {
    run_shutdown_callbacks(reason);
    let destroy = server_config_of(s).switches.destroy_interpreter.unwrap_or(true);
    runtime::finalize(destroy);
}

fn run_shutdown_callbacks(reason: &str) {
    if interp::is_ready() {
        interp::for_each(|py, interp| {
            if let Some(glue) = interp.glue() {
                if let Err(e) = glue.process_stopping.bind(py).call1((reason,)) {
                    exceptions::swallow(py, e);
                }
            }
        });
    }
}

fn log_lines(s: Server<'_>, text: &str) {
    for line in text.lines() {
        s.log(Level::Error, line);
    }
}

/// WSGIImportScript for this process group ("" = embedded), and aliases whose groups are both
/// fixed (mod_wsgi preloads those too), loaded when the process starts, not on a request.
fn preload_scripts(main: Server<'_>, process_group: &str) {
    let mut wanted: Vec<(String, String)> = Vec::new();
    for s in main.and_following() {
        let config = server_config_of(s);
        for i in &config.import_scripts {
            if group_name(&i.process_group) == process_group {
                wanted.push((i.path.clone(), group_name(&i.application_group)));
            }
        }
        for a in &config.aliases {
            let fixed = |g: &Option<GroupSpec>| matches!(g, Some(GroupSpec::Global) | Some(GroupSpec::Other(_))) && !matches!(g, Some(GroupSpec::Other(n)) if n.contains("%{"));
            let literal_target = matches!(a.matcher, crate::config::AliasMatcher::Prefix(_)) || !a.target.contains('$');
            let same_pool = a.options.process_group.as_ref().map(group_name).as_deref() == Some(process_group);
            if same_pool && fixed(&a.options.process_group) && fixed(&a.options.application_group) && literal_target {
                wanted.push((a.target.clone(), group_name(a.options.application_group.as_ref().unwrap_or(&GroupSpec::Global))));
            }
        }
    }
    let case_sensitive = server_config_of(main).case_sensitive();
    for (path, group) in wanted {
        preload(main, &path, &group, process_group, case_sensitive);
    }
}

fn group_name(g: &GroupSpec) -> String {
    match g {
        GroupSpec::Global => String::new(),
        GroupSpec::Other(n) => n.clone(),
    }
}

fn preload(s: Server<'_>, path: &str, group: &str, process_group: &str, case_sensitive: bool) {
    let pid = std::process::id();
    let interp = match interp::find_or_create(group) {
        Ok(i) => i,
        Err(msg) => return log_lines(s, &format!("mod_wsgi (pid={pid}): cannot preload '{path}': {msg}")),
    };
    let Some(glue) = interp.glue() else { return };
    let mtime = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_micros() as i64);
    interp::with(interp, |py| {
        let announce = |_: &script::Loading| {
            let daemon = Some(process_group).filter(|p| !p.is_empty());
            s.log(Level::Info, &format!("Loading WSGI script '{path}' into {}.", interp_context(group, daemon)));
        };
        if script::load(py, interp, glue, path, mtime, true, case_sensitive, &announce).is_err() {
            let trace = exceptions::take_exception(py).map(|e| exceptions::traceback_lines(py, &e).join("\n")).unwrap_or_default();
            log_lines(s, &format!("mod_wsgi (pid={pid}): Failed to preload WSGI script '{path}':\n{trace}"));
        }
    });
}

/// Where a script runs, in mod_wsgi 6's words for its log lines: "main interpreter in
/// embedded mode", "sub-interpreter 'x' of daemon process 'y'".
pub fn interp_context(group: &str, daemon_process: Option<&str>) -> String {
    let interp = if group.is_empty() { "main interpreter".to_string() } else { format!("sub-interpreter '{group}'") };
    match daemon_process {
        Some(name) => format!("{interp} of daemon process '{name}'"),
        None => format!("{interp} in embedded mode"),
    }
}

pub fn describe_group(group: &str) -> String {
    if group.is_empty() { "the main interpreter".into() } else { format!("sub-interpreter '{group}'") }
}

/// At child exit: shutdown callbacks in every interpreter, then Python stops.
pub fn child_exit(s: Server<'_>) {
    // mod_wsgi has no shutdown reason in an Apache child: the field is left out.
    crate::telemetry::reporter::stopping("");
    crate::telemetry::reporter::stopped("");
    run_shutdown_callbacks("shutdown_signal");
    let destroy = server_config_of(s).switches.destroy_interpreter.unwrap_or(true);
    runtime::finalize(destroy);
}
