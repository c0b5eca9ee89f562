//! Python hooks run in the Apache child (reference §7): WSGIAccessScript (`allow_access`),
//! WSGIAuthUserScript (`check_password`, `get_realm_hash` for the `wsgi` authn provider),
//! WSGIAuthGroupScript (`groups_for_user` for `Require wsgi-group`) and WSGIDispatchScript
//! (`process_group`, `application_group`, `callable_object`). They run in the main interpreter
//! unless the directive names an application group.

use crate::apache::log::Level;
use crate::apache::slots::{request_dir_config, server_config_of};
use crate::apache::request::Request;
use crate::config::groups::{self, RequestFacts};
use crate::config::{DirSettings, GroupSpec, HookScript};
use crate::python::exceptions::{self, OrRaise, PyRes};
use crate::python::{interp, script};
use crate::wsgi::environ;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

fn dir(r: Request<'_>) -> DirSettings {
    DirSettings::merged(&server_config_of(r.server()).dir, request_dir_config(&r))
}

/// Calls `function(environ, *args)` in the hook script; Err(()) after logging when the script
/// or the call failed, Ok(None) when the script has no such function.
fn call_hook<T>(
    r: Request<'_>,
    hook: &HookScript,
    function: &str,
    args: &dyn Fn(Python<'_>) -> Vec<Bound<'_, PyAny>>,
    convert: &dyn Fn(Python<'_>, &Bound<'_, PyAny>) -> Result<T, String>,
) -> Result<Option<T>, ()> {
    if !interp::is_ready() {
        r.log(Level::Error, &format!("Python is not available for {function}() in '{}'", hook.path));
        return Err(());
    }
    let env = |name: &str| r.env_var(name);
    let facts = RequestFacts { server_name: r.server_hostname(), port: r.server_port(), host: r.hostname(), script_name: "", env: &env };
    let group = match &hook.application_group {
        None | Some(GroupSpec::Global) => String::new(),
        spec => groups::expand(spec.as_ref(), &facts),
    };
    let interp = interp::find_or_create(&group).map_err(|e| r.log(Level::Error, &e))?;
    let Some(glue) = interp.glue() else { return Err(()) };
    let vars: Vec<(&[u8], &[u8])> = r.cgi_variables().into_iter().filter(|(k, _)| *k != b"HTTP_AUTHORIZATION").collect();
    let mtime = std::fs::metadata(&hook.path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_micros() as i64);
    let case_sensitive = server_config_of(r.server()).case_sensitive();
    interp::with(interp, |py| {
        let run = || -> PyRes<Option<Bound<'_, PyAny>>> {
            let module = script::load(py, interp, glue, &hook.path, mtime, true, case_sensitive, &|_| {})?;
            if !module.hasattr(function).or_raise(py)? {
                return Ok(None);
            }
            let environ = environ::build(py, glue, &vars, false)?;
            environ.set_item("wsgi.errors", py.import("sys").and_then(|s| s.getattr("stderr")).or_raise(py)?).or_raise(py)?;
            let mut call_args = vec![environ.into_any()];
            call_args.extend(args(py));
            let tuple = pyo3::types::PyTuple::new(py, call_args).or_raise(py)?;
            module.getattr(function).and_then(|f| f.call1(tuple)).map(Some).or_raise(py)
        };
        match run() {
            Ok(None) => Ok(None),
            Ok(Some(result)) => convert(py, &result).map(Some).map_err(|why| {
                r.log(Level::Error, &format!("{function}() in '{}' returned {why}", hook.path));
            }),
            Err(_) => {
                if let Some(exc) = exceptions::take_exception(py) {
                    r.log(Level::Error, &format!("Exception in {function}() of '{}': {}", hook.path, exceptions::describe(&exc)));
                    for line in exceptions::traceback_lines(py, &exc) {
                        r.log(Level::Error, &line);
                    }
                }
                Err(())
            }
        }
    })
}

fn text<'py>(py: Python<'py>, s: &str) -> Bound<'py, PyAny> {
    PyString::new(py, s).into_any()
}

/// `None`, `True`/`False`, or a string: what the hooks return.
#[derive(Debug)]
enum Answer {
    Nothing,
    Flag(bool),
    Text(String),
}

fn answer(_py: Python<'_>, v: &Bound<'_, PyAny>) -> Result<Answer, String> {
    if v.is_none() {
        return Ok(Answer::Nothing);
    }
    if let Ok(b) = v.cast::<pyo3::types::PyBool>() {
        return Ok(Answer::Flag(b.is_true()));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Answer::Text(s.to_string_lossy().into_owned()));
    }
    if let Ok(b) = v.cast::<PyBytes>() {
        return Ok(Answer::Text(b.as_bytes().iter().map(|&c| c as char).collect()));
    }
    Err(format!("an object of type {} (expected True, False, None or a string)", v.get_type().name().map(|n| n.to_string()).unwrap_or_default()))
}

/// The access checker: Some(true) allow, Some(false) deny (403), None: no opinion.
pub fn allow_access(r: Request<'_>) -> Option<bool> {
    let hook = dir(r).access_script?;
    let host = r.client_ip().to_string();
    match call_hook(r, &hook, "allow_access", &|py| vec![text(py, &host)], &answer) {
        Ok(Some(Answer::Flag(allowed))) => Some(allowed),
        Ok(Some(Answer::Nothing)) => None,
        _ => Some(false),
    }
}

pub enum Password {
    Granted(Option<String>),
    Denied,
    UnknownUser,
    Error,
}

/// The `wsgi` authn provider's check_password.
pub fn check_password(r: Request<'_>, user: &str, password: &str) -> Password {
    let Some(hook) = dir(r).auth_user_script else {
        r.log(Level::Error, "AuthBasicProvider wsgi is used but no WSGIAuthUserScript is configured here");
        return Password::Error;
    };
    match call_hook(r, &hook, "check_password", &|py| vec![text(py, user), text(py, password)], &answer) {
        Ok(Some(Answer::Flag(true))) => Password::Granted(None),
        Ok(Some(Answer::Flag(false))) => Password::Denied,
        Ok(Some(Answer::Nothing)) => Password::UnknownUser,
        Ok(Some(Answer::Text(name))) if !name.is_empty() => Password::Granted(Some(name)),
        Ok(None) => {
            r.log(Level::Error, &format!("'{}' has no check_password()", hook.path));
            Password::Error
        }
        _ => Password::Error,
    }
}

/// The `wsgi` authn provider's get_realm_hash (digest auth): Ok(None) unknown user.
pub fn realm_hash(r: Request<'_>, user: &str, realm: &str) -> Result<Option<String>, ()> {
    let hook = dir(r).auth_user_script.ok_or(())?;
    match call_hook(r, &hook, "get_realm_hash", &|py| vec![text(py, user), text(py, realm)], &answer)? {
        Some(Answer::Nothing) => Ok(None),
        Some(Answer::Text(hash)) => Ok(Some(hash)),
        _ => Err(()),
    }
}

/// `Require wsgi-group ...`: the user's groups, from groups_for_user().
pub fn groups_for_user(r: Request<'_>, user: &str) -> Result<Vec<String>, ()> {
    let hook = dir(r).auth_group_script.ok_or_else(|| r.log(Level::Error, "Require wsgi-group is used but no WSGIAuthGroupScript is configured here"))?;
    let groups = |_py: Python<'_>, v: &Bound<'_, PyAny>| -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        for item in v.try_iter().map_err(|_| "an object that is not iterable".to_string())? {
            let item = item.map_err(|_| "an iterable that failed".to_string())?;
            match answer(item.py(), &item)? {
                Answer::Text(t) => out.push(t),
                _ => return Err("a group that is not a string".into()),
            }
        }
        Ok(out)
    };
    Ok(call_hook(r, &hook, "groups_for_user", &|py| vec![text(py, user)], &groups)?.unwrap_or_default())
}

/// WSGIDispatchScript's choices; None fields keep the configured value.
#[derive(Default)]
pub struct Dispatch {
    pub process_group: Option<String>,
    pub application_group: Option<String>,
    pub callable_object: Option<String>,
}

pub fn dispatch(r: Request<'_>, hook: &HookScript) -> Result<Dispatch, ()> {
    let mut d = Dispatch::default();
    for (function, slot) in
        [("process_group", &mut d.process_group), ("application_group", &mut d.application_group), ("callable_object", &mut d.callable_object)]
    {
        match call_hook(r, hook, function, &|_| Vec::new(), &answer)? {
            Some(Answer::Text(v)) => *slot = Some(v),
            Some(Answer::Nothing) | None => {}
            Some(Answer::Flag(_)) => {
                r.log(Level::Error, &format!("{function}() in '{}' returned a bool (expected None or a string)", hook.path));
                return Err(());
            }
        }
    }
    Ok(d)
}
