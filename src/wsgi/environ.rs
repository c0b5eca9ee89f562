//! Building the WSGI environ: which CGI variables an application sees (mod_wsgi 6's choice),
//! and the dict itself from the per-interpreter template.

use crate::python::exceptions::{OrRaise, PyRes};
use crate::python::mod_wsgi::Glue;
use crate::python::native::latin1;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// CGI variables mod_wsgi 6 deliberately leaves out of the environ.
const OMITTED: &[&[u8]] = &[
    b"GATEWAY_INTERFACE",
    b"PATH_TRANSLATED",
    b"REMOTE_HOST",
    b"REMOTE_IDENT",
    b"SERVER_SIGNATURE",
    b"PATH",
    b"LD_LIBRARY_PATH",
    b"DYLD_LIBRARY_PATH",
    b"LIBPATH",
    b"SHLIB_PATH",
    b"HTTPS",
];

pub fn is_omitted(key: &[u8]) -> bool {
    OMITTED.contains(&key)
}

/// `HTTPS` as set by mod_ssl ("on") or mod_wsgi ("1") means the https scheme.
pub fn https_flag(value: &[u8]) -> bool {
    value.eq_ignore_ascii_case(b"on") || value == b"1"
}

/// Runs of '/' become one '/' (SCRIPT_NAME and PATH_INFO, as mod_wsgi does).
pub fn collapse_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut previous_slash = false;
    for c in path.chars() {
        if c == '/' && previous_slash {
            continue;
        }
        previous_slash = c == '/';
        out.push(c);
    }
    out
}

/// The environ: the interpreter's template (wsgi.version, multithread, file_wrapper...) plus
/// the request's variables, latin-1 decoded.
pub fn build<'py>(py: Python<'py>, glue: &Glue, vars: &[(&[u8], &[u8])], https: bool) -> PyRes<Bound<'py, PyDict>> {
    let template = glue.environ_template.bind(py);
    let environ = template.cast::<PyDict>().map_err(|e| e.into()).or_raise(py)?.copy().or_raise(py)?;
    for (key, value) in vars {
        environ.set_item(latin1(py, key), latin1(py, value)).or_raise(py)?;
    }
    environ.set_item("wsgi.url_scheme", if https { "https" } else { "http" }).or_raise(py)?;
    Ok(environ)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slashes() {
        assert_eq!(collapse_slashes("/a//b///c"), "/a/b/c");
        assert_eq!(collapse_slashes(""), "");
        assert_eq!(collapse_slashes("//"), "/");
    }

    #[test]
    fn omitted_and_https() {
        assert!(is_omitted(b"GATEWAY_INTERFACE"));
        assert!(!is_omitted(b"HTTP_HOST"));
        assert!(https_flag(b"on") && https_flag(b"1") && !https_flag(b"off"));
    }
}
