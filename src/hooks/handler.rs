//! The WSGI handler: a request is served in the Apache child's interpreter for its
//! application group (embedded mode) or handed to its daemon process group.

use crate::apache::log::Level;
use crate::apache::request::{ApacheTransport, FileKind};
use crate::apache::slots::{matched_alias, request_dir_config, server_config_of};
use crate::apache::{Request, Status, ffi};
use crate::config::groups::{self, RequestFacts};
use crate::config::{DirSettings, GroupSpec, HeadMapping, ScriptAlias};
use crate::daemon::{client, pools};
use crate::host::python::{child_pid, describe_group, interp_context, log_level};
use crate::host::serve::{AppRequest, Served, Site, file_mtime_us, serve_app};
use crate::python::exceptions::{OrRaise, PyRes};
use crate::python::interp::{self, Interpreter};
use crate::python::native;
use crate::wsgi::environ::{collapse_slashes, https_flag, is_omitted};
use crate::wsgi::latin1;
use crate::wsgi::run::{FinishLater, Outcome};
use crate::wsgi::transport::LogLevel;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::borrow::Cow;

/// # Safety
/// Only Apache calls it, with the arguments its hook API passes.
pub unsafe extern "C" fn handler(r: *mut ffi::request_rec) -> i32 {
    // SAFETY: Apache passes the live request being handled, for this call.
    handle(unsafe { Request::from_raw(r) }).raw()
}

/// What serves the request: a WSGI script file, or a WSGIHandlerScript for the handler name.
enum Target {
    Script,
    Handler { path: String },
}

/// Settings for one request: alias options over per-directory over per-server over defaults.
struct Effective {
    target: Target,
    script_path: String,
    callable_object: String,
    process_group: Option<GroupSpec>,
    application_group: Option<GroupSpec>,
    pass_authorization: bool,
    script_reloading: bool,
    chunked_request: bool,
    map_head_to_get: HeadMapping,
    enable_sendfile: bool,
    pass_apache_request: bool,
    error_override: bool,
    ignore_activity: bool,
    trusted_proxy_headers: Option<Vec<String>>,
    trusted_proxies: Vec<crate::config::proxies::Network>,
    restrict_process: Option<Vec<String>>,
    case_sensitive: bool,
}

impl Effective {
    fn resolve(r: Request<'_>, alias: Option<&ScriptAlias>, dir: DirSettings, target: Target) -> Effective {
        let opts = match (&target, alias) {
            (Target::Script, Some(a)) => a.options.clone(),
            (Target::Handler { .. }, _) => {
                dir.handler_script(r.handler().unwrap_or("")).map(|h| h.options.clone()).unwrap_or_default()
            }
            _ => Default::default(),
        };
        let (script_path, default_callable) = match &target {
            Target::Script => (r.filename().to_string(), "application"),
            Target::Handler { path } => (path.clone(), "handle_request"),
        };
        let callable = match &target {
            Target::Script => opts.callable_object.or(dir.callable_object).unwrap_or_else(|| default_callable.into()),
            Target::Handler { .. } => default_callable.into(),
        };
        Effective {
            callable_object: expand_env(r, &callable).unwrap_or_else(|| default_callable.into()),
            script_path,
            target,
            process_group: opts.process_group.or(dir.process_group),
            application_group: opts.application_group.or(dir.application_group),
            pass_authorization: opts.pass_authorization.or(dir.pass_authorization).unwrap_or(false),
            script_reloading: dir.script_reloading.unwrap_or(true),
            chunked_request: dir.chunked_request.unwrap_or(false),
            map_head_to_get: dir.map_head_to_get.unwrap_or(HeadMapping::Auto),
            enable_sendfile: dir.enable_sendfile.unwrap_or(false),
            pass_apache_request: dir.pass_apache_request.unwrap_or(false),
            error_override: dir.error_override.unwrap_or(false),
            ignore_activity: dir.ignore_activity.unwrap_or(false),
            trusted_proxy_headers: dir.trusted_proxy_headers.clone(),
            trusted_proxies: dir.trusted_proxies.clone().unwrap_or_default(),
            restrict_process: dir.restrict_process,
            case_sensitive: server_config_of(r.server()).case_sensitive(),
        }
    }
}

/// `%{ENV:name}` -> the variable's value (None if unset); anything else as written.
fn expand_env(r: Request<'_>, value: &str) -> Option<String> {
    match value.strip_prefix("%{ENV:").and_then(|v| v.strip_suffix('}')) {
        Some(name) => r.env_var(name),
        None => Some(value.to_string()),
    }
}

fn handle(r: Request<'_>) -> Status {
    let server = server_config_of(r.server());
    let dir = DirSettings::merged(&server.dir, request_dir_config(&r));
    let target = match r.handler() {
        Some("wsgi-script") | Some("application/x-httpd-wsgi") => Target::Script,
        Some(super::metrics::HANDLER) => return super::metrics::serve(r),
        Some(name) => match dir.handler_script(name) {
            Some(h) => Target::Handler { path: h.path.clone() },
            None => return Status::DECLINED,
        },
        None => return Status::DECLINED,
    };
    let alias = matched_alias(&r);
    if let Target::Script = target {
        if alias.is_none() && !r.allows_exec_cgi() {
            r.log(Level::Error, &format!("Options ExecCGI is off in this directory: {}", r.filename()));
            return Status::FORBIDDEN;
        }
        match r.file_kind() {
            FileKind::Missing => {
                r.log(Level::Error, &format!("Target WSGI script not found or unable to stat: {}", r.filename()));
                return Status::NOT_FOUND;
            }
            FileKind::Directory => {
                r.log(Level::Error, &format!("Attempt to invoke directory as WSGI application: {}", r.filename()));
                return Status::FORBIDDEN;
            }
            FileKind::Regular | FileKind::Other => {}
        }
    }
    let dispatch = dir.dispatch_script.clone();
    let mut settings = Effective::resolve(r, alias, dir, target);
    // WSGIDispatchScript decides last (reference §5.5): it may move the request to another
    // process group, interpreter or callable.
    if let Some(hook) = dispatch {
        match crate::host::access::dispatch(r, &hook) {
            Ok(d) => {
                if let Some(pg) = d.process_group {
                    settings.process_group = Some(GroupSpec::parse(&pg));
                }
                if let Some(ag) = d.application_group {
                    settings.application_group = Some(GroupSpec::parse(&ag));
                }
                if let Some(c) = d.callable_object {
                    settings.callable_object = c;
                }
            }
            Err(()) => return Status::INTERNAL_SERVER_ERROR,
        }
    }
    if let Err(status) = r.setup_body(settings.chunked_request) {
        if status == Status::LENGTH_REQUIRED {
            // mod_wsgi 6's words (WSGIChunkedRequest On accepts such bodies).
            r.log(Level::Error, &format!("[script {}] WSGI0139: Request requires chunked transfer encoding, but support for chunked transfer encoding has not been enabled.", r.filename()));
        }
        return status;
    }
    let (vars, https, script_name) = environ_vars(&r, &settings);
    let env = |name: &str| r.env_var(name);
    let facts = RequestFacts {
        server_name: r.server_hostname(),
        port: r.server_port(),
        host: r.hostname(),
        script_name: &if settings.case_sensitive { script_name } else { script_name.to_lowercase() },
        env: &env,
    };
    let group = groups::expand(settings.application_group.as_ref(), &facts);
    let process_group = match &settings.process_group {
        None | Some(GroupSpec::Global) => String::new(),
        spec => groups::expand(spec.as_ref(), &facts),
    };
    if let Some(allowed) = &settings.restrict_process {
        if !allowed.contains(&process_group) {
            let shown = if process_group.is_empty() { "%{GLOBAL}" } else { process_group.as_str() };
            r.log(
                Level::Error,
                &format!("Process group '{shown}' is not in WSGIRestrictProcess ({}) for {}", allowed.join(" "), settings.script_path),
            );
            return Status::INTERNAL_SERVER_ERROR;
        }
    }
    if !process_group.is_empty() {
        return to_daemon(r, &settings, &process_group, group, &vars, https);
    }
    if server.switches.restrict_embedded.unwrap_or(false) {
        r.log(Level::Error, &format!("Embedded mode of mod_wsgi disabled by runtime configuration (WSGIRestrictEmbedded On): {}", settings.script_path));
        return Status::INTERNAL_SERVER_ERROR;
    }
    let interp = match interp::find_or_create(&group) {
        Ok(i) => i,
        Err(msg) => {
            r.log(Level::Error, &format!("No Python interpreter for {}: {msg}", describe_group(&group)));
            return Status::INTERNAL_SERVER_ERROR;
        }
    };
    let (status, finish_later) = interp::with_admitted(interp, |py| serve(py, r, interp, &settings, &vars, https));
    if let Some(later) = finish_later {
        later.send();
    }
    status
}

type Var<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);

/// Daemon mode: the pool must exist and be visible from this virtual host.
fn to_daemon(r: Request<'_>, settings: &Effective, pool: &str, application_group: String, vars: &[Var<'_>], https: bool) -> Status {
    let Some(target) = pools::find(pool) else {
        r.log(Level::Error, &format!("No WSGI daemon process called '{pool}' has been configured: {}", settings.script_path));
        return Status::INTERNAL_SERVER_ERROR;
    };
    if target.defined_in_vhost && target.server != r.server().raw() as usize {
        r.log(
            Level::Error,
            &format!("WSGI daemon process '{pool}' belongs to another virtual host and cannot be used by {}", settings.script_path),
        );
        return Status::INTERNAL_SERVER_ERROR;
    }
    let proxied = client::Proxied {
        vars: vars.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect(),
        application_group,
        script: settings.script_path.clone(),
        https,
        script_reloading: settings.script_reloading,
        enable_sendfile: settings.enable_sendfile,
        error_override: settings.error_override,
        ignore_activity: settings.ignore_activity,
    };
    if let Err(why) = crate::daemon::accounts::check_script_owner(&target.group, &settings.script_path) {
        r.log(Level::Error, &format!("WSGI script '{}' refused for daemon process '{pool}': {why}", settings.script_path));
        return Status::FORBIDDEN;
    }
    client::proxy(r, &target, &proxied)
}

/// The CGI variables plus mod_wsgi's own keys; also returns the https flag and SCRIPT_NAME.
fn environ_vars<'a>(r: &Request<'a>, settings: &Effective) -> (Vec<Var<'a>>, bool, String) {
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
            // latin-1 both ways: any byte of the URI reaches the app (PEP 3333), UTF-8 or not
            b"SCRIPT_NAME" => script_name = collapse_slashes(&latin1::decode(value)),
            b"PATH_INFO" => path_info = collapse_slashes(&latin1::decode(value)),
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
    let handler_script = match &settings.target {
        Target::Script => String::new(),
        Target::Handler { path } => path.clone(),
    };
    let own_latin1 = |k: &'static str, v: &str| (Cow::Borrowed(k.as_bytes()), Cow::Owned(latin1::encode(v)));
    vars.push(own_latin1("SCRIPT_NAME", &script_name));
    vars.push(own_latin1("PATH_INFO", &path_info));
    vars.push(own_latin1("mod_wsgi.script_name", &script_name));
    vars.push(own_latin1("mod_wsgi.path_info", &path_info));
    vars.push(own("mod_wsgi.callable_object", settings.callable_object.clone()));
    vars.push(own("mod_wsgi.request_handler", r.handler().unwrap_or("").to_string()));
    vars.push(own("mod_wsgi.handler_script", handler_script));
    vars.push(own("mod_wsgi.listener_host", r.local_ip().to_string()));
    vars.push(own("mod_wsgi.listener_port", r.local_port().to_string()));
    vars.push(own("mod_wsgi.request_id", r.log_id().unwrap_or("").to_string()));
    // The Apache child serving the request (in daemon mode: the one proxying it).
    vars.push(own("mod_wsgi.server_pid", child_pid().to_string()));
    if let Some(id) = r.connection_log_id() {
        vars.push(own("mod_wsgi.connection_id", id.to_string()));
    }
    if let Some(trusted) = &settings.trusted_proxy_headers {
        https = apply_proxy_headers(&mut vars, trusted, &settings.trusted_proxies, https);
    }
    (vars, https, script_name)
}

/// WSGITrustedProxyHeaders: only when configured, so the usual path does not pay for it.
fn apply_proxy_headers(vars: &mut Vec<Var<'_>>, trusted: &[String], proxies: &[crate::config::proxies::Network], https: bool) -> bool {
    let mut env: Vec<(String, String)> = vars.iter().map(|(k, v)| (latin1::decode(k), latin1::decode(v))).collect();
    let peer = env.iter().find(|(k, _)| k == "REMOTE_ADDR").map(|(_, v)| v.clone()).unwrap_or_default();
    let applied = crate::wsgi::proxy::apply(&mut env, trusted, proxies, &peer);
    if let Some(mount) = applied.mount_point {
        env.push(("mod_wsgi.mount_point".into(), mount));
    }
    *vars = env.into_iter().map(|(k, v)| (Cow::Owned(latin1::encode(&k)), Cow::Owned(latin1::encode(&v)))).collect();
    applied.https.unwrap_or(https)
}

/// Embedded mode's side of serving: lines go to Apache's log against the request (or its
/// server), and the environ gets the request's start time and, if asked, the request_rec.
struct Embedded<'r> {
    r: Request<'r>,
    pass_apache_request: bool,
}

impl Site for Embedded<'_> {
    fn log(&self, level: LogLevel, msg: &str) {
        self.r.log(log_level(level), msg);
    }

    fn log_for_server(&self, level: LogLevel, msg: &str) {
        self.r.server().log(log_level(level), msg);
    }

    fn add_environ(&self, py: Python<'_>, env: &Bound<'_, PyDict>) -> PyRes<()> {
        env.set_item("mod_wsgi.request_start", self.r.request_time_us() as f64 / 1e6).or_raise(py)?;
        if self.pass_apache_request {
            let capsule = native::pointer_capsule(py, self.r.raw() as *mut _, c"apache.request_rec").or_raise(py)?;
            env.set_item("apache.request_rec", capsule).or_raise(py)?;
        }
        Ok(())
    }
}

fn serve(py: Python<'_>, r: Request<'_>, interp: &Interpreter, settings: &Effective, vars: &[Var<'_>], https: bool) -> (Status, Option<FinishLater>) {
    let Some(glue) = interp.glue() else {
        r.log(Level::Error, &format!("The mod_wsgi module could not be set up in {} (see the error log)", describe_group(&interp.name)));
        return (Status::INTERNAL_SERVER_ERROR, None);
    };
    let mtime = match &settings.target {
        Target::Script => r.file_mtime(),
        Target::Handler { path } => match file_mtime_us(path) {
            Some(m) => m,
            None => {
                r.log(Level::Error, &format!("Target WSGI handler script not found or unable to stat: {path}"));
                return (Status::NOT_FOUND, None);
            }
        },
    };
    let pairs: Vec<(&[u8], &[u8])> = vars.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
    let context = interp_context(&interp.name, None);
    let app = AppRequest {
        script: &settings.script_path,
        mtime,
        callable: &settings.callable_object,
        reloading: settings.script_reloading,
        case_sensitive: settings.case_sensitive,
        context: &context,
        vars: &pairs,
        https,
    };
    let site = Embedded { r, pass_apache_request: settings.pass_apache_request };
    // SAFETY: the WSGI core drops the transport before run_request returns, or in FinishLater::send, which handle() calls before this hook returns.
    let transport = Box::new(unsafe { ApacheTransport::detached(r, settings.enable_sendfile) });
    match serve_app(py, interp, glue, &app, &site, transport) {
        Served::Ran(Outcome::Sent, later) => (Status::OK, later),
        Served::Ran(Outcome::Failed, _) | Served::LoadFailed | Served::Failed => (Status::INTERNAL_SERVER_ERROR, None),
        Served::NoCallable => (Status::NOT_FOUND, None),
    }
}
