//! Serving one request with the application of a WSGI script, the same way in an Apache
//! child (embedded mode) and in a daemon process: load (or reuse) the script's module, find
//! its callable, build the environ and run the WSGI core. What differs between the two
//! modes (where log lines go, the environ keys only one of them has, the daemon's
//! request-timeout watch) is the caller's `Site`.

use crate::python::exceptions::{self, OrRaise, PyRes};
use crate::python::gil;
use crate::python::mod_wsgi::Glue;
use crate::python::interp::Interpreter;
use crate::python::script::{self, Loading};
use crate::wsgi::environ;
use crate::wsgi::run::{self, FinishLater};
use crate::wsgi::transport::{LogLevel, Transport};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The application a request asks for, and the request's CGI variables.
pub struct AppRequest<'a> {
    pub script: &'a str,
    /// The script file's modification time (µs), from the caller's stat of it.
    pub mtime: i64,
    pub callable: &'a str,
    /// WSGIScriptReloading: reload the module in place when the file changed.
    pub reloading: bool,
    pub case_sensitive: bool,
    /// Where it runs, in mod_wsgi 6's words ("main interpreter in embedded mode").
    pub context: &'a str,
    pub vars: &'a [(&'a [u8], &'a [u8])],
    pub https: bool,
}

/// One mode's side of serving a request.
pub trait Site {
    /// A line about this request (Apache adds the client's address, or the caller does).
    fn log(&self, level: LogLevel, msg: &str);
    /// A line about the process, not the request that happened to cause it (script loading).
    fn log_for_server(&self, level: LogLevel, msg: &str);
    /// This mode's own environ keys.
    fn add_environ(&self, py: Python<'_>, environ: &Bound<'_, PyDict>) -> PyRes<()>;
    /// The script's module is loaded (or was already).
    fn loaded(&self) {}
    /// Just before the application is called.
    fn before_run(&self) {}
}

/// How serving ended.
pub enum Served {
    /// The WSGI core ran the application (its outcome, and the end it left to send).
    Ran(run::Outcome, Option<FinishLater>),
    /// The script could not be loaded (logged): answer 500.
    LoadFailed,
    /// The script has no such callable (logged): answer 404, as mod_wsgi.
    NoCallable,
    /// The environ could not be built (logged): answer 500.
    Failed,
}

pub fn serve_app(py: Python<'_>, interp: &Interpreter, glue: &Glue, app: &AppRequest<'_>, site: &dyn Site, transport: Box<dyn Transport>) -> Served {
    let (path, context) = (app.script, app.context);
    let announce = |event: &Loading| match event {
        Loading::Loaded => site.log_for_server(LogLevel::Info, &format!("Loading WSGI script '{path}' into {context}.")),
        Loading::Reloaded(purged) => {
            site.log_for_server(LogLevel::Info, &format!("Reloading WSGI script '{path}' into {context}."));
            if let Some(m) = crate::metrics::table::mine() {
                m.reload();
            }
            if !purged.is_empty() {
                let pid = super::python::child_pid();
                site.log_for_server(LogLevel::Info, &format!("mod_wsgi (pid={pid}): Reloading application modules too: {}", purged.join(", ")));
            }
        }
        Loading::Cached => {}
    };
    let module = match script::load(py, interp, glue, path, app.mtime, app.reloading, app.case_sensitive, &announce) {
        Ok(m) => m,
        Err(_) => {
            log_load_failure(py, site, path);
            return Served::LoadFailed;
        }
    };
    site.loaded();
    let callable = match module.getattr(app.callable) {
        Ok(c) => c,
        Err(e) => {
            exceptions::swallow(py, e);
            site.log(LogLevel::Error, &format!("Target WSGI script '{path}' does not contain WSGI application '{}'.", app.callable));
            return Served::NoCallable;
        }
    };
    let environ = environ::build(py, glue, app.vars, app.https).and_then(|env| {
        env.set_item("mod_wsgi.thread_id", gil::thread_index()).or_raise(py)?;
        site.add_environ(py, &env)?;
        Ok(env)
    });
    let Ok(environ) = environ else {
        log_exception(py, site, "Building the environ failed");
        return Served::Failed;
    };
    site.before_run();
    let (outcome, later) = run::run_request(py, glue, &callable, &environ, transport, path, context);
    Served::Ran(outcome, later)
}

/// Why a script could not be loaded (syntax error, exception at import, SystemExit).
fn log_load_failure(py: Python<'_>, site: &dyn Site, path: &str) {
    let Some(exc) = exceptions::take_exception(py) else { return };
    if exceptions::is_system_exit(&exc) {
        site.log(LogLevel::Error, &format!("SystemExit exception raised by WSGI script '{path}' ignored."));
    } else {
        site.log(LogLevel::Error, &format!("Failed to exec Python script file '{path}': {}", exceptions::describe(&exc)));
    }
    if let Some(hint) = exceptions::own_gil_import_hint(&exc) {
        site.log(LogLevel::Error, &hint);
    }
    for line in exceptions::traceback_lines(py, &exc) {
        site.log(LogLevel::Error, &line);
    }
}

fn log_exception(py: Python<'_>, site: &dyn Site, what: &str) {
    let Some(exc) = exceptions::take_exception(py) else { return };
    site.log(LogLevel::Error, &format!("{what}: {}", exceptions::describe(&exc)));
    if let Some(hint) = exceptions::own_gil_import_hint(&exc) {
        site.log(LogLevel::Error, &hint);
    }
    for line in exceptions::traceback_lines(py, &exc) {
        site.log(LogLevel::Error, &line);
    }
}

/// A file's modification time in µs (the unit Apache's finfo.mtime has).
pub fn file_mtime_us(path: &str) -> Option<i64> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(modified.duration_since(std::time::UNIX_EPOCH).ok()?.as_micros() as i64)
}
