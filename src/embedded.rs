//! The handler for embedded mode: request_rec -> WSGI core, in the Apache child's main
//! interpreter.

use crate::apache::ffi;
use crate::apache::log::Level;
use crate::apache::module::{request_dir_config, server_config_of};
use crate::apache::request::{ApacheTransport, FileKind, Request};
use crate::config::{DirSettings, HeadMapping, ScriptAlias};
use crate::python::exceptions::{describe, is_instance, swallow, take_exception, traceback_lines};
use crate::python::{gil, glue, script};
use crate::wsgi::environ::{self, collapse_slashes, https_flag, is_omitted};
use crate::wsgi::run::{Outcome, run_request};
use pyo3::prelude::*;
use std::borrow::Cow;

/// Settings for one request: alias options over per-directory over per-server over defaults.
struct Effective {
    callable_object: String,
    pass_authorization: bool,
    script_reloading: bool,
    chunked_request: bool,
    map_head_to_get: HeadMapping,
    enable_sendfile: bool,
}

impl Effective {
    fn resolve(r: Request, alias: Option<&ScriptAlias>) -> Effective {
        let server = &server_config_of(r.server()).dir;
        let d = DirSettings::merged(server, request_dir_config(r.raw()));
        let opts = alias.map(|a| a.options.clone()).unwrap_or_default();
        let callable = opts.callable_object.or(d.callable_object).unwrap_or_else(|| "application".into());
        Effective {
            callable_object: expand_env(r, &callable).unwrap_or_else(|| "application".into()),
            pass_authorization: opts.pass_authorization.or(d.pass_authorization).unwrap_or(false),
            script_reloading: d.script_reloading.unwrap_or(true),
            chunked_request: d.chunked_request.unwrap_or(false),
            map_head_to_get: d.map_head_to_get.unwrap_or(HeadMapping::Auto),
            enable_sendfile: d.enable_sendfile.unwrap_or(false),
        }
    }
}

/// `%{ENV:name}` -> the variable's value (None if unset); anything else as written.
fn expand_env(r: Request, value: &str) -> Option<String> {
    match value.strip_prefix("%{ENV:").and_then(|v| v.strip_suffix('}')) {
        Some(name) => r.env_var(name),
        None => Some(value.to_string()),
    }
}

pub fn handle(r: Request) -> i32 {
    match r.handler() {
        Some("wsgi-script") | Some("application/x-httpd-wsgi") => {}
        _ => return ffi::DECLINED,
    }
    let alias = crate::mapping::matched_alias(r);
    if alias.is_none() && !r.allows_exec_cgi() {
        r.log(Level::Error, &format!("Options ExecCGI is off in this directory: {}", r.filename()));
        return ffi::HTTP_FORBIDDEN;
    }
    match r.file_kind() {
        FileKind::Missing => {
            r.log(Level::Error, &format!("Target WSGI script not found or unable to stat: {}", r.filename()));
            return ffi::HTTP_NOT_FOUND;
        }
        FileKind::Directory => {
            r.log(Level::Error, &format!("Attempt to invoke directory as WSGI application: {}", r.filename()));
            return ffi::HTTP_FORBIDDEN;
        }
        FileKind::Regular | FileKind::Other => {}
    }
    let settings = Effective::resolve(r, alias);
    if let Err(status) = r.setup_body(settings.chunked_request) {
        if status == ffi::HTTP_LENGTH_REQUIRED {
            r.log(Level::Error, "Chunked request bodies are not enabled (WSGIChunkedRequest On to accept them)");
        }
        return status;
    }
    if !gil::is_ready() {
        r.log(Level::Error, "Python is not available in this Apache process: its initialization failed (see the error log at the process's start)");
        return ffi::HTTP_INTERNAL_SERVER_ERROR;
    }
    let (vars, https) = environ_vars(&r, &settings);
    gil::with_main_interpreter(|py| serve(py, r, &settings, &vars, https))
}

type Var<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);

fn environ_vars<'a>(r: &'a Request, settings: &Effective) -> (Vec<Var<'a>>, bool) {
    let mut https = false;
    let mut vars: Vec<Var<'a>> = Vec::with_capacity(48);
    let map_head = match settings.map_head_to_get {
        HeadMapping::On => true,
        HeadMapping::Off => false,
        HeadMapping::Auto => r.has_content_filter(),
    };
    let (mut script_name, mut path_info) = (String::new(), String::new());
    for (key, value) in r.cgi_variables() {
        match key {
            b"HTTPS" => https = https_flag(value),
            b"SCRIPT_NAME" => script_name = collapse_slashes(&String::from_utf8_lossy(value)),
            b"PATH_INFO" => path_info = collapse_slashes(&String::from_utf8_lossy(value)),
            b"REQUEST_METHOD" if map_head && value == b"HEAD" => vars.push((Cow::Borrowed(key), Cow::Borrowed(b"GET"))),
            _ if is_omitted(key) => {}
            _ => vars.push((Cow::Borrowed(key), Cow::Borrowed(value))),
        }
    }
    if settings.pass_authorization {
        if let Some(auth) = r.header_in("Authorization") {
            vars.push((Cow::Borrowed(b"HTTP_AUTHORIZATION"), Cow::Borrowed(auth)));
        }
    }
    let own = |k: &'static str, v: String| (Cow::Borrowed(k.as_bytes()), Cow::Owned(v.into_bytes()));
    vars.push(own("SCRIPT_NAME", script_name.clone()));
    vars.push(own("PATH_INFO", path_info.clone()));
    vars.push(own("mod_wsgi.script_name", script_name));
    vars.push(own("mod_wsgi.path_info", path_info));
    vars.push(own("mod_wsgi.callable_object", settings.callable_object.clone()));
    vars.push(own("mod_wsgi.request_handler", r.handler().unwrap_or("").to_string()));
    vars.push(own("mod_wsgi.handler_script", String::new()));
    vars.push(own("mod_wsgi.listener_host", r.local_ip().to_string()));
    vars.push(own("mod_wsgi.listener_port", r.local_port().to_string()));
    vars.push(own("mod_wsgi.request_id", r.log_id().unwrap_or("").to_string()));
    if let Some(id) = r.connection_log_id() {
        vars.push(own("mod_wsgi.connection_id", id.to_string()));
    }
    (vars, https)
}

fn serve(py: Python<'_>, r: Request, settings: &Effective, vars: &[Var<'_>], https: bool) -> i32 {
    let Some(glue) = glue::main_glue() else {
        r.log(Level::Error, "The mod_wsgi module could not be set up in this process (see the error log at the process's start)");
        return ffi::HTTP_INTERNAL_SERVER_ERROR;
    };
    let path = r.filename().to_string();
    let announce = |event: &script::Loading| match event {
        script::Loading::Loaded => r.log(
            Level::Info,
            &format!("mod_wsgi (pid={}): Loading WSGI script '{path}' into the main interpreter in embedded mode.", std::process::id()),
        ),
        script::Loading::Reloaded(purged) => {
            r.log(Level::Info, &format!("mod_wsgi (pid={}): Reloading WSGI script '{path}'.", std::process::id()));
            if !purged.is_empty() {
                r.log(Level::Info, &format!("mod_wsgi (pid={}): Reloading application modules too: {}", std::process::id(), purged.join(", ")));
            }
        }
        script::Loading::Cached => {}
    };
    let module = match script::load(py, glue, &path, r.file_mtime(), settings.script_reloading, &announce) {
        Ok(m) => m,
        Err(_) => {
            log_load_failure(py, r, &path);
            return ffi::HTTP_INTERNAL_SERVER_ERROR;
        }
    };
    let app = match module.getattr(settings.callable_object.as_str()) {
        Ok(app) => app,
        Err(e) => {
            swallow(py, e);
            r.log(
                Level::Error,
                &format!("Target WSGI script '{path}' does not contain WSGI application '{}'.", settings.callable_object),
            );
            return ffi::HTTP_NOT_FOUND;
        }
    };
    let pairs: Vec<(&[u8], &[u8])> = vars.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
    let environ = match environ::build(py, glue, &pairs, https).and_then(|env| {
        use crate::python::exceptions::OrRaise;
        env.set_item("mod_wsgi.thread_id", gil::thread_index()).or_raise(py)?;
        env.set_item("mod_wsgi.request_start", r.request_time_us() as f64 / 1e6).or_raise(py)?;
        Ok(env)
    }) {
        Ok(env) => env,
        Err(_) => {
            log_load_failure(py, r, &path);
            return ffi::HTTP_INTERNAL_SERVER_ERROR;
        }
    };
    let transport = Box::new(ApacheTransport::new(r, settings.enable_sendfile));
    match run_request(py, glue, &app, &environ, transport, &path) {
        Outcome::Sent => ffi::OK,
        Outcome::Failed => ffi::HTTP_INTERNAL_SERVER_ERROR,
    }
}

/// Logs why a script could not be loaded (syntax error, exception at import, SystemExit).
fn log_load_failure(py: Python<'_>, r: Request, path: &str) {
    let Some(exc) = take_exception(py) else { return };
    let system_exit = is_instance(&exc, crate::python::exceptions::system_exit_type());
    if system_exit {
        r.log(Level::Error, &format!("SystemExit exception raised by WSGI script '{path}' ignored."));
    } else {
        r.log(Level::Error, &format!("Failed to exec Python script file '{path}': {}", describe(&exc)));
    }
    for line in traceback_lines(py, &exc) {
        r.log(Level::Error, &line);
    }
}
