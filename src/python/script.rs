//! Loading WSGI scripts as modules, cached per interpreter with their mtime, and reloading
//! them (with the application modules they use) when the file changes.

use super::exceptions::{OrRaise, PyRes, restore_exception, swallow, take_exception};
use super::gil::without_gil;
use super::mod_wsgi::{Glue, PyRef};
use super::interp::Interpreter;
use pyo3::prelude::*;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

struct Loaded {
    module: PyRef,
    mtime: i64,
    /// What `mod_wsgi._record_after_load` returned, for the next reload.
    record: PyRef,
}

/// The scripts loaded into one interpreter. A replaced entry's references are released under
/// that interpreter's GIL (see `forget`).
#[derive(Default)]
pub struct ScriptCache {
    entries: Mutex<HashMap<String, Loaded>>,
    /// Serialises loading, so two threads never execute the same script at once.
    load_lock: Mutex<()>,
}

/// Locks `m` without holding the GIL while waiting (the holder may need the GIL to finish).
fn lock_without_gil<'a, T>(py: Python<'_>, m: &'a Mutex<T>) -> MutexGuard<'a, T> {
    match m.try_lock() {
        Ok(g) => g,
        Err(_) => without_gil(py, || m.lock().unwrap_or_else(|e| e.into_inner())),
    }
}

/// mod_wsgi's module name for a script: `_mod_wsgi_` + md5 of its path.
fn module_name(path: &str) -> String {
    use md5::{Digest, Md5};
    let digest = Md5::digest(path.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("_mod_wsgi_{hex}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn module_name_is_mod_wsgis() {
        // `echo -n /srv/app.wsgi | md5sum`
        assert_eq!(super::module_name("/srv/app.wsgi"), "_mod_wsgi_295f8766fc4bd953ab4cd252da58a6a3");
    }
}

pub enum Loading {
    Cached,
    Loaded,
    Reloaded(Vec<String>),
}

/// Returns the module for `path`, loading it if new, or reloading it when `reload` is on and
/// `mtime` (microseconds) differs from when it was loaded. `on_event` is told what happened
/// before any code runs, so the log shows the load before the script's own output.
pub fn load<'py>(
    py: Python<'py>,
    interp: &Interpreter,
    glue: &Glue,
    path: &str,
    mtime: i64,
    reload: bool,
    case_sensitive: bool,
    on_event: &dyn Fn(&Loading),
) -> PyRes<Bound<'py, PyAny>> {
    let cache = &interp.scripts;
    let forced = match cache.cached(py, path, mtime, reload) {
        Some(module) if reload && reload_requested(py, &module, path) => true,
        Some(module) => return Ok(module),
        None => false,
    };
    let _loading = lock_without_gil(py, &cache.load_lock);
    // Another thread may have loaded it while we waited (for a change on disk; a reload the
    // script's own callback asked for is done, once, here).
    if !forced && let Some(module) = cache.cached(py, path, mtime, reload) {
        return Ok(module);
    }
    let previous = cache.take(path);
    let event = match &previous {
        Some(old) => {
            let purged: Vec<String> =
                glue.purge_for_reload.bind(py).call1((old.record.bind(py), path)).and_then(|l| l.extract()).or_raise(py)?;
            Loading::Reloaded(purged)
        }
        None => Loading::Loaded,
    };
    if let Some(old) = previous {
        forget(py, old);
    }
    on_event(&event);
    let (module, record) = execute(py, glue, path, case_sensitive)?;
    module.setattr("__mtime__", mtime).or_raise(py)?;
    let mut scripts = cache.entries.lock().unwrap_or_else(|e| e.into_inner());
    scripts.insert(
        path.to_string(),
        Loaded { module: PyRef::new(module.clone()), mtime, record: PyRef::new(record) },
    );
    Ok(module)
}

/// mod_wsgi 6's hook: a script may define `reload_required(resource)`; a true answer reloads
/// it although the file is unchanged. A callback that raises is logged (traceback to the
/// error log) and keeps the loaded script, as mod_wsgi 6 does: reloading on every request
/// of a failing callback would help nobody.
fn reload_requested(py: Python<'_>, module: &Bound<'_, PyAny>, path: &str) -> bool {
    let Ok(module) = module.cast::<pyo3::types::PyModule>() else { return false };
    let callback = match module.dict().get_item("reload_required") {
        Ok(Some(callback)) => callback,
        Ok(None) => return false,
        Err(e) => {
            swallow(py, e);
            return false;
        }
    };
    match callback.call1((path,)).and_then(|answer| answer.is_truthy()) {
        Ok(answer) => answer,
        Err(e) => {
            e.restore(py);
            if let Some(exc) = take_exception(py) {
                let lines = super::exceptions::traceback_lines(py, &exc).join("\n");
                let text = format!("mod_wsgi: reload_required() of WSGI script '{path}' raised; keeping the loaded script:\n{lines}\n");
                if let Err(e) = py.import("sys").and_then(|sys| sys.getattr("stderr")).and_then(|err| err.call_method1("write", (text,))) {
                    swallow(py, e);
                }
            }
            false
        }
    }
}

impl ScriptCache {
    fn cached<'py>(&self, py: Python<'py>, path: &str, mtime: i64, reload: bool) -> Option<Bound<'py, PyAny>> {
        let scripts = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = scripts.get(path)?;
        (!reload || entry.mtime == mtime).then(|| entry.module.bind(py))
    }

    /// The mtime `path` had when this interpreter loaded it.
    pub fn loaded_mtime(&self, path: &str) -> Option<i64> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).get(path).map(|e| e.mtime)
    }

    fn take(&self, path: &str) -> Option<Loaded> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).remove(path)
    }
}

/// Releases an old entry's references (GIL held).
fn forget(py: Python<'_>, old: Loaded) {
    drop(old.module.into_owned(py));
    drop(old.record.into_owned(py));
}

/// Reads, compiles and executes the script as a fresh module in sys.modules.
fn execute<'py>(py: Python<'py>, glue: &Glue, path: &str, case_sensitive: bool) -> PyRes<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let source = match std::fs::read(path) {
        Ok(s) => s,
        Err(e) => return Err(super::exceptions::os_error(py, &format!("cannot read WSGI script '{path}': {e}"))),
    };
    let name = module_name(&if case_sensitive { path.to_string() } else { path.to_lowercase() });
    let code = glue.builtins_compile.bind(py).call1((source.as_slice(), path, "exec")).or_raise(py)?;
    let module = glue.module_type.bind(py).call1((name.as_str(),)).or_raise(py)?;
    module.setattr("__file__", path).or_raise(py)?;
    let sys_modules = glue.sys_modules.bind(py);
    sys_modules.set_item(name.as_str(), &module).or_raise(py)?;
    let before = glue.snapshot_before_load.bind(py).call1((path,)).or_raise(py)?;
    let globals = module.getattr("__dict__").or_raise(py)?;
    if let Err(raised) = glue.builtins_exec.bind(py).call1((code, globals)).or_raise(py) {
        // A failed load leaves nothing behind, so the next request tries again.
        let Some(exc) = take_exception(py) else { return Err(raised) };
        // (ends the load's import attribution; what it imported stays the script's)
        match glue.record_after_load.bind(py).call1((&before,)) {
            Ok(_) => {}
            Err(e) => swallow(py, e),
        }
        if let Err(e) = sys_modules.del_item(name.as_str()) {
            swallow(py, e);
        }
        return Err(restore_exception(exc));
    }
    let record = glue.record_after_load.bind(py).call1((before,)).or_raise(py)?;
    Ok((module, record))
}
