//! Starting and stopping the embedded interpreter in an Apache child (never in the parent).

use super::interp::{self, Setup};
use crate::config::PythonSettings;
use pyo3::ffi;
use std::ffi::{CStr, CString};
use std::path::Path;
use std::ptr;

/// Initialises Python from the server's WSGIPython* settings and sets up the main interpreter
/// with `setup` (also used for each sub-interpreter). On return the GIL is released.
/// Err(message) if Python did not start; Ok(Err(message)) if it started but setup failed.
pub fn initialize(settings: &PythonSettings, setup: Setup) -> Result<Result<(), String>, String> {
    // SAFETY: PyConfig is a plain C struct initialised by PyConfig_InitPythonConfig before use and cleared after; every string we hand over is NUL-terminated and copied by CPython.
    unsafe {
        let mut config: ffi::PyConfig = std::mem::zeroed();
        ffi::PyConfig_InitPythonConfig(&mut config);
        // Apache owns the signals; PYTHON* variables of whoever started Apache must not leak in,
        // nor www-data's ~/.local site-packages.
        config.install_signal_handlers = 0;
        config.parse_argv = 0;
        config.use_environment = 0;
        config.user_site_directory = 0;
        config.buffered_stdio = 0;

        let result = configure(&mut config, settings).and_then(|()| {
            let status = ffi::Py_InitializeFromConfig(&config);
            if ffi::PyStatus_Exception(status) != 0 { Err(status_message(&status)) } else { Ok(()) }
        });
        ffi::PyConfig_Clear(&mut config);
        result?;
    }
    Ok(interp::adopt_main(setup))
}

/// Fills `config` from the settings.
///
/// # Safety
/// `config` must have been initialised by PyConfig_InitPythonConfig.
unsafe fn configure(config: &mut ffi::PyConfig, settings: &PythonSettings) -> Result<(), String> {
    let argv0 = CString::new("mod_wsgi").unwrap();
    let mut argv = [argv0.as_ptr()];
    // SAFETY: per this function's contract; argv outlives the call that copies it.
    unsafe {
        check(ffi::PyConfig_SetBytesArgv(config, 1, argv.as_mut_ptr()))?;
        if let Some(home) = &settings.home {
            let venv = Path::new(home).join("pyvenv.cfg").exists();
            if venv {
                // Python finds pyvenv.cfg next to its executable and sets prefixes from it.
                let program = CString::new(format!("{home}/bin/python")).map_err(|e| e.to_string())?;
                check(ffi::PyConfig_SetBytesString(config, &mut config.program_name, program.as_ptr()))?;
            } else {
                let home_c = CString::new(home.as_str()).map_err(|e| e.to_string())?;
                check(ffi::PyConfig_SetBytesString(config, &mut config.home, home_c.as_ptr()))?;
            }
        }
        if let Some(level) = settings.optimize {
            config.optimization_level = level as i32;
        }
        if let Some(seed) = settings.hash_seed {
            config.use_hash_seed = seed.is_some() as i32;
            config.hash_seed = seed.unwrap_or(0) as std::os::raw::c_ulong;
        }
        if let Some(dont) = settings.dont_write_bytecode {
            config.write_bytecode = (!dont) as i32;
        }
        for warning in &settings.warnings {
            let w = CString::new(warning.as_str()).map_err(|e| e.to_string())?;
            let wide = ffi::Py_DecodeLocale(w.as_ptr(), ptr::null_mut());
            if wide.is_null() {
                return Err(format!("WSGIPythonWarnings '{warning}' cannot be decoded"));
            }
            let status = ffi::PyWideStringList_Append(&mut config.warnoptions, wide);
            ffi::PyMem_RawFree(wide as *mut _);
            check(status)?;
        }
    }
    Ok(())
}

fn check(status: ffi::PyStatus) -> Result<(), String> {
    // SAFETY: reading a PyStatus value returned by CPython.
    if unsafe { ffi::PyStatus_Exception(status) } != 0 { Err(status_message(&status)) } else { Ok(()) }
}

fn status_message(status: &ffi::PyStatus) -> String {
    let part = |p: *const std::os::raw::c_char| {
        // SAFETY: PyStatus strings are static C strings or NULL.
        if p.is_null() { String::new() } else { unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned() }
    };
    format!("{} {}", part(status.func), part(status.err_msg)).trim().to_string()
}

/// Ends sub-interpreters and finalises Python at process exit (atexit handlers run), unless
/// `destroy` is off (WSGIDestroyInterpreter Off). Called once, with no request running.
pub fn finalize(destroy: bool) {
    interp::shutdown(destroy);
}

/// The Python version as mod_wsgi's telemetry names it: Py_GetVersion() up to the first
/// space or tab ("3.11.2").
pub fn version() -> String {
    // SAFETY: Py_GetVersion returns a static NUL-terminated string; it may be called at any time.
    let full = unsafe { std::ffi::CStr::from_ptr(pyo3::ffi::Py_GetVersion()) };
    full.to_string_lossy().split([' ', '\t']).next().unwrap_or("").to_string()
}
