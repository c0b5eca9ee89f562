//! The `mod_wsgi` module each interpreter gets (native functions + mod_wsgi.py), and the
//! objects the request path needs from it, looked up once instead of per request.

use super::exceptions::{OrRaise, PyRes};
use super::native::MethodDef;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyModule, PyTuple};

/// A strong reference owned by an interpreter's registry for the interpreter's life.
pub struct PyRef(*mut ffi::PyObject);

// SAFETY: the pointer is only dereferenced (through `bind`) by threads holding the GIL of the
// interpreter that owns it; the reference is never released while that interpreter lives.
unsafe impl Send for PyRef {}
// SAFETY: as above.
unsafe impl Sync for PyRef {}

impl PyRef {
    pub fn new(obj: Bound<'_, PyAny>) -> PyRef {
        PyRef(obj.into_ptr())
    }
    pub fn bind<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        // SAFETY: the registry holds a strong reference, so the object is alive; GIL held.
        unsafe { Bound::from_borrowed_ptr(py, self.0) }
    }
    pub fn as_ptr(&self) -> *mut ffi::PyObject {
        self.0
    }
}

/// Facts about this process the environ and the `mod_wsgi` module report.
#[derive(Clone, Debug)]
pub struct ProcessInfo {
    pub multithread: bool,
    pub multiprocess: bool,
    pub maximum_processes: i64,
    pub threads_per_process: i64,
    pub apache_version: (i64, i64, i64),
    pub server_description: String,
    pub process_group: String,
    pub application_group: String,
}

/// The version of mod_wsgi whose interface we provide (apps test `mod_wsgi.version`).
pub const MOD_WSGI_VERSION: (i64, i64, i64) = (6, 1, 1);

pub struct Glue {
    pub module: PyRef,
    pub input_class: PyRef,
    pub errors_for: PyRef,
    pub file_wrapper_class: PyRef,
    pub snapshot_before_load: PyRef,
    pub record_after_load: PyRef,
    pub purge_for_reload: PyRef,
    pub sendfile_info: PyRef,
    pub environ_template: PyRef,
    pub builtins_compile: PyRef,
    pub builtins_exec: PyRef,
    pub module_type: PyRef,
    pub sys_modules: PyRef,
    /// Non-empty list while event subscribers or metrics need the per-request hooks.
    pub hooks_wanted: PyRef,
    pub request_started: PyRef,
    pub response_started: PyRef,
    pub request_exception: PyRef,
    pub request_finished: PyRef,
    pub process_stopping: PyRef,
}

impl Glue {
    /// Cheap check for the hot path: does anything want per-request events?
    pub fn hooks_wanted(&self, py: Python<'_>) -> bool {
        self.hooks_wanted.bind(py).len().map(|n| n > 0).unwrap_or(false)
    }
}

/// Per-interpreter settings (server-wide directives, or a `<WSGIInterpreterOptions>` block).
#[derive(Clone, Debug, Default)]
pub struct InterpreterOptions {
    pub python_path: Vec<String>,
    pub restrict_stdin: bool,
    pub restrict_stdout: bool,
    pub restrict_signal: bool,
    pub switch_interval: Option<f64>,
    pub python_eggs: Option<String>,
    pub server_metrics: bool,
    /// WSGITelemetryService is configured: the reporter owns the metrics, and
    /// request_metrics()/process_metrics() return None (as in mod_wsgi 6).
    pub telemetry: bool,
}

const SOURCE: &str = include_str!("mod_wsgi.py");

/// The `mod_wsgi` package from PyPI (mod_wsgi-express's runtime, `mod_wsgi.server`, ...)
/// stays importable under our module, as mod_wsgi 6 arranges: its `__path__` is copied onto
/// ours, so `import mod_wsgi.express.runtime` finds the package's submodules. Without the
/// package installed there is nothing to copy.
fn adopt_package_path(py: Python<'_>, module: &Bound<'_, PyAny>) {
    match py.import("mod_wsgi").and_then(|pkg| pkg.getattr("__path__")) {
        Ok(path) => {
            if let Err(e) = module.setattr("__path__", path) {
                crate::python::exceptions::swallow(py, e);
            }
        }
        // ModuleNotFoundError (not installed) or a package without __path__: nothing to adopt
        Err(e) => crate::python::exceptions::swallow(py, e),
    }
}

/// Builds the `mod_wsgi` module in the current interpreter and registers it in sys.modules.
/// `natives` are injected as module globals before mod_wsgi.py runs.
pub fn install(
    py: Python<'_>,
    info: &ProcessInfo,
    natives: &[(&str, &'static MethodDef)],
    options: &InterpreterOptions,
) -> PyRes<Glue> {
    let module = PyModule::new(py, "mod_wsgi").or_raise(py)?;
    let m = module.as_any();
    for (name, def) in natives {
        let f = def.bind(py, &py.None().into_bound(py)).or_raise(py)?;
        m.setattr(*name, f).or_raise(py)?;
    }
    m.setattr("version", MOD_WSGI_VERSION).or_raise(py)?;
    m.setattr("mod_wsgi_rs_version", env!("CARGO_PKG_VERSION")).or_raise(py)?;
    m.setattr("process_group", info.process_group.as_str()).or_raise(py)?;
    m.setattr("application_group", info.application_group.as_str()).or_raise(py)?;
    m.setattr("maximum_processes", info.maximum_processes).or_raise(py)?;
    m.setattr("threads_per_process", info.threads_per_process).or_raise(py)?;
    m.setattr("__file__", "<mod_wsgi_rs>/mod_wsgi.py").or_raise(py)?;

    let builtins = py.import("builtins").or_raise(py)?;
    let compile = builtins.getattr("compile").or_raise(py)?;
    let exec = builtins.getattr("exec").or_raise(py)?;
    let code = compile.call1((SOURCE, "<mod_wsgi_rs>/mod_wsgi.py", "exec")).or_raise(py)?;
    exec.call1((code, module.dict())).or_raise(py)?;

    let sys = py.import("sys").or_raise(py)?;
    let sys_modules = sys.getattr("modules").or_raise(py)?;
    adopt_package_path(py, m);
    sys_modules.set_item("mod_wsgi", &module).or_raise(py)?;
    m.call_method1(
        "_setup_interpreter",
        (options.restrict_stdin, options.restrict_stdout, options.restrict_signal, options.switch_interval, options.python_eggs.clone()),
    )
    .or_raise(py)?;
    m.setattr("_server_metrics_enabled", options.server_metrics).or_raise(py)?;
    m.setattr("_telemetry_enabled", options.telemetry).or_raise(py)?;
    if options.telemetry {
        m.call_method0("_start_gc_events").or_raise(py)?;
    }
    if !options.python_path.is_empty() {
        m.call_method1("_add_python_path", (options.python_path.clone(),)).or_raise(py)?;
    }
    sys.setattr("argv", vec!["mod_wsgi"]).or_raise(py)?;

    let apache = PyModule::new(py, "apache").or_raise(py)?;
    apache.setattr("version", info.apache_version).or_raise(py)?;
    apache.setattr("maximum_processes", info.maximum_processes).or_raise(py)?;
    apache.setattr("threads_per_process", info.threads_per_process).or_raise(py)?;
    apache.setattr("description", info.server_description.as_str()).or_raise(py)?;
    sys_modules.set_item("apache", &apache).or_raise(py)?;

    let file_wrapper = m.getattr("FileWrapper").or_raise(py)?;
    let template = PyDict::new(py);
    template.set_item("wsgi.version", PyTuple::new(py, [1, 0]).or_raise(py)?).or_raise(py)?;
    template.set_item("wsgi.multithread", info.multithread).or_raise(py)?;
    template.set_item("wsgi.multiprocess", info.multiprocess).or_raise(py)?;
    template.set_item("wsgi.run_once", false).or_raise(py)?;
    template.set_item("wsgi.input_terminated", true).or_raise(py)?;
    template.set_item("wsgi.file_wrapper", &file_wrapper).or_raise(py)?;
    template.set_item("apache.version", info.apache_version).or_raise(py)?;
    template.set_item("mod_wsgi.version", MOD_WSGI_VERSION).or_raise(py)?;
    template.set_item("mod_wsgi.process_group", info.process_group.as_str()).or_raise(py)?;
    template.set_item("mod_wsgi.application_group", info.application_group.as_str()).or_raise(py)?;
    template.set_item("mod_wsgi.queue_start", 0.0).or_raise(py)?;
    template.set_item("mod_wsgi.daemon_start", 0.0).or_raise(py)?;
    template.set_item("mod_wsgi.server_pid", std::process::id().to_string()).or_raise(py)?;

    let glue = Glue {
        input_class: PyRef::new(m.getattr("Input").or_raise(py)?),
        errors_for: PyRef::new(m.getattr("_errors_for").or_raise(py)?),
        file_wrapper_class: PyRef::new(file_wrapper),
        snapshot_before_load: PyRef::new(m.getattr("_snapshot_before_load").or_raise(py)?),
        record_after_load: PyRef::new(m.getattr("_record_after_load").or_raise(py)?),
        purge_for_reload: PyRef::new(m.getattr("_purge_for_reload").or_raise(py)?),
        sendfile_info: PyRef::new(m.getattr("_sendfile_info").or_raise(py)?),
        environ_template: PyRef::new(template.into_any()),
        builtins_compile: PyRef::new(compile),
        builtins_exec: PyRef::new(exec),
        module_type: PyRef::new(py.import("types").or_raise(py)?.getattr("ModuleType").or_raise(py)?),
        sys_modules: PyRef::new(sys_modules),
        hooks_wanted: PyRef::new(m.getattr("_hooks_wanted").or_raise(py)?),
        request_started: PyRef::new(m.getattr("_request_started").or_raise(py)?),
        response_started: PyRef::new(m.getattr("_response_started").or_raise(py)?),
        request_exception: PyRef::new(m.getattr("_request_exception").or_raise(py)?),
        request_finished: PyRef::new(m.getattr("_request_finished").or_raise(py)?),
        process_stopping: PyRef::new(m.getattr("_process_stopping").or_raise(py)?),
        module: PyRef::new(module.into_any()),
    };
    Ok(glue)
}

impl PyRef {
    /// Takes the registry's reference back as an owned Bound (dropping it releases it).
    pub fn into_owned<'py>(self, py: Python<'py>) -> Bound<'py, PyAny> {
        // SAFETY: PyRef owns exactly one strong reference, transferred here; GIL held.
        unsafe { Bound::from_owned_ptr(py, self.0) }
    }
}
