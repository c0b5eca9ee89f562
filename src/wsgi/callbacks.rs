//! The native callables an application sees: start_response, write, and the functions behind
//! wsgi.input (`mod_wsgi._read`), wsgi.errors (`_log`) and sys.stdout/stderr (`_process_log`).
//! This is CPython calling-convention glue; the rules themselves are in headers.rs/response.rs.

use super::headers::{parse_content_length, parse_status, validate_header};
use super::response::{NO_START_RESPONSE, ensure_head_sent, send_chunks};
use super::state::{Head, RequestState, Slot};
use super::transport::LogLevel;
use crate::python::mod_wsgi::PyRef;
use crate::native_function;
use crate::python::exceptions::{OrRaise, PyRes, os_error, raise_exc_info, runtime_error, type_error, value_error};
use crate::python::gil::without_gil;
use crate::python::native::{Args, MethodDef, capsule_ref};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::OnceLock;

pub static START_RESPONSE: MethodDef = MethodDef::of::<start_response_c>(c"start_response", c"WSGI start_response(status, headers, exc_info=None)");
pub static WRITE: MethodDef = MethodDef::of::<write_c>(c"write", c"Writes response data at once (legacy WSGI write callable).");
pub static READ: MethodDef = MethodDef::of::<read_c>(c"_read", c"_read(state, size, exact): request body bytes.");
pub static LOG: MethodDef = MethodDef::of::<log_c>(c"_log", c"_log(state, data): wsgi.errors output.");
pub static PROCESS_LOG: MethodDef = MethodDef::of::<process_log_c>(c"_process_log", c"_process_log(data): sys.stdout/stderr output.");
pub static LOG_RECORD: MethodDef = MethodDef::of::<log_record_c>(c"_log_record", c"_log_record(levelno, text): mod_wsgi.LogHandler output.");
pub static REQUEST_DATA: MethodDef = MethodDef::of::<request_data_c>(c"_request_data", c"_request_data(): the current request's dict.");
pub static REQUEST_STATS: MethodDef = MethodDef::of::<request_stats_c>(c"_request_stats", c"_request_stats(): what the current request read, wrote and waited for.");
pub static GC_CALLBACK: MethodDef = MethodDef::of::<gc_callback_c>(c"_gc_callback", c"_gc_callback(phase, info): a gc.callbacks entry that times each collection for telemetry.");
pub static CURRENT_SCRIPT: MethodDef = MethodDef::of::<current_script_c>(c"_current_script", c"_current_script(): the script whose request this thread serves, or None.");
pub static PROCESS_COUNTERS: MethodDef = MethodDef::of::<process_counters_c>(c"_process_counters", c"_process_counters(): (requests, busy seconds) of this process.");

/// The natives mod_wsgi.py expects as globals.
pub fn module_natives() -> [(&'static str, &'static MethodDef); 9] {
    [
        ("_read", &READ),
        ("_log", &LOG),
        ("_process_log", &PROCESS_LOG),
        ("_log_record", &LOG_RECORD),
        ("_request_data", &REQUEST_DATA),
        ("_request_stats", &REQUEST_STATS),
        ("_process_counters", &PROCESS_COUNTERS),
        ("_current_script", &CURRENT_SCRIPT),
        ("_gc_callback", &GC_CALLBACK),
    ]
}

thread_local! {
    /// The request this thread is serving, so print() lines carry its context.
    static CURRENT: RefCell<Option<Rc<RefCell<RequestState>>>> = const { RefCell::new(None) };
}

pub fn set_current(state: Option<Rc<RefCell<RequestState>>>) {
    CURRENT.with(|c| *c.borrow_mut() = state);
}

/// Where process-wide output goes when no request is being served on this thread.
static SERVER_LOG: OnceLock<fn(LogLevel, &str)> = OnceLock::new();

pub fn set_server_log(f: fn(LogLevel, &str)) {
    let _ = SERVER_LOG.set(f);
}

/// Runs `f` on the state of the request this thread is serving, if any (and not busy).
fn with_current<R>(f: impl FnOnce(&mut RequestState) -> R) -> Option<R> {
    let state = CURRENT.with(|c| c.borrow().clone())?;
    let mut st = state.try_borrow_mut().ok()?;
    Some(f(&mut st))
}

/// Runs `f` on the request state behind a capsule, or raises RuntimeError once the request
/// has ended (or when another thread is using it at this moment).
fn with_request<R>(py: Python<'_>, slot: Option<&Slot>, what: &str, f: impl FnOnce(&mut RequestState) -> PyRes<R>) -> PyRes<R> {
    let Some(slot) = slot else { return Err(type_error(py, &format!("{what}: not a request state"))) };
    let Some(state) = slot.state() else {
        return Err(runtime_error(py, &format!("{what} called after the request has ended")));
    };
    let Ok(mut st) = state.try_borrow_mut() else {
        return Err(runtime_error(py, &format!("{what} called while the request is busy in another thread")));
    };
    f(&mut st)
}

fn arg<'a, 'py>(args: &'a Args<'py>, index: usize, names: &[&str]) -> Option<&'a Bound<'py, PyAny>> {
    args.positional.get(index).or_else(|| args.keywords.iter().find(|(k, _)| names.contains(&k.as_str())).map(|(_, v)| v))
}

native_function!(start_response_c => start_response);

/// start_response(status, headers, exc_info=None), checked in mod_wsgi 6's order and words.
fn start_response<'py>(py: Python<'py>, capsule: Option<&Bound<'py, PyAny>>, args: &Args<'py>) -> PyRes<Bound<'py, PyAny>> {
    let Some(capsule) = capsule else { return Err(type_error(py, "start_response is not bound to a request")) };
    let slot = capsule_ref::<Slot>(capsule);
    let (Some(status), Some(headers)) = (arg(args, 0, &["status"]), arg(args, 1, &["response_headers", "headers"])) else {
        return Err(type_error(py, "start_response() takes status and response_headers"));
    };
    let list = headers.cast::<PyList>().map_err(|_| type_error(py, &format!("start_response() argument 2 must be list, not {}", type_name(headers))))?;
    let exc_info = arg(args, 2, &["exc_info"]).filter(|e| !e.is_none());
    if exc_info.is_some_and(|e| !e.is_instance_of::<PyTuple>()) {
        return Err(runtime_error(py, "start_response() argument 'exc_info' must be a 3-tuple or None"));
    }
    with_request(py, slot, "start_response()", |st| {
        if st.head_sent {
            return Err(match exc_info {
                Some(exc_info) => raise_exc_info(py, exc_info),
                None => runtime_error(py, "start_response() called more than once without exc_info"),
            });
        }
        // Before any output a later call replaces the head, with or without exc_info: what
        // mod_wsgi does (PEP 3333 calls it an error without exc_info; applications rely on it).
        st.head = Some(parse_head(py, status, list)?);
        Ok(st.response_hook.as_ref().map(|h| h.bind(py)))
    })?
    .map(|hook| hook.call1((status, headers, exc_info)).map(drop))
    .transpose()
    .or_raise(py)?;
    WRITE.bind(py, capsule).or_raise(py)
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_default()
}

/// A PEP 3333 native string: a str of latin-1 characters. Anything else raises what
/// mod_wsgi 6 raises (TypeError, or the UnicodeEncodeError of encoding it to latin-1).
fn native_string(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyRes<String> {
    let s = obj.cast::<PyString>().map_err(|_| type_error(py, &format!("must be str, not {}", type_name(obj))))?;
    match s.to_str() {
        Ok(v) if v.chars().all(|c| (c as u32) <= 0xff) => Ok(v.to_string()),
        Ok(_) => Err(latin1_error(py, s)),
        Err(e) => {
            crate::python::exceptions::swallow(py, e);
            Err(latin1_error(py, s))
        }
    }
}

/// Raises Python's own error for a str that is not latin-1.
fn latin1_error(py: Python<'_>, s: &Bound<'_, PyString>) -> crate::python::exceptions::Raised {
    match s.call_method1("encode", ("latin-1",)) {
        Err(e) => {
            e.restore(py);
            crate::python::exceptions::Raised
        }
        Ok(_) => value_error(py, "string is not latin-1"),
    }
}

fn parse_head(py: Python<'_>, status: &Bound<'_, PyAny>, list: &Bound<'_, PyList>) -> PyRes<Head> {
    let status = native_string(py, status)?;
    let (code, line) = parse_status(&status).map_err(|m| value_error(py, &m))?;
    let mut parsed = Vec::with_capacity(list.len());
    let mut content_length = None;
    for item in list.iter() {
        let pair = item.cast::<PyTuple>().map_err(|_| type_error(py, &format!("each header must be a 2-tuple, not {}", type_name(&item))))?;
        if pair.len() != 2 {
            return Err(value_error(py, &format!("each header must be a 2-tuple, got length {}", pair.len())));
        }
        let name = native_string(py, &pair.get_item(0).or_raise(py)?)?;
        let value = native_string(py, &pair.get_item(1).or_raise(py)?)?;
        validate_header(&name, &value).map_err(|m| value_error(py, &m))?;
        if name.eq_ignore_ascii_case("content-length") {
            content_length = Some(parse_content_length(&value).map_err(|m| value_error(py, &m))?);
        }
        parsed.push((name, value));
    }
    Ok(Head { code, line, headers: parsed, content_length })
}

native_function!(write_c => write);

fn write<'py>(py: Python<'py>, capsule: Option<&Bound<'py, PyAny>>, args: &Args<'py>) -> PyRes<Bound<'py, PyAny>> {
    let slot = capsule.and_then(capsule_ref::<Slot>);
    let Some(data) = arg(args, 0, &["data"]) else { return Err(type_error(py, "write() takes one bytes argument")) };
    let bytes = data.cast::<PyBytes>().map_err(|_| type_error(py, &format!("write() argument must be bytes, not {}", type_name(data))))?;
    with_request(py, slot, "write()", |st| {
        if st.head.is_none() {
            return Err(runtime_error(py, NO_START_RESPONSE));
        }
        ensure_head_sent(st).map_err(|m| runtime_error(py, m))?;
        send_chunks(py, st, &[bytes.as_bytes()], true)
            .map_err(|_| os_error(py, "failed to write response data: the client connection was closed"))
    })?;
    Ok(py.None().into_bound(py))
}

/// The capsule passed as first argument to _read/_log.
fn state_arg<'a>(args: &'a Args<'_>) -> Option<&'a Slot> {
    args.positional.first().and_then(capsule_ref::<Slot>)
}

native_function!(read_c => read);

const READ_CHUNK: usize = 64 * 1024;
/// Reads of a known size up to this fill a new bytes object in place (no copy); larger or
/// open-ended ones grow a buffer chunk by chunk (no huge allocation for a short body).
const READ_IN_PLACE_MAX: usize = 1 << 20;

fn read<'py>(py: Python<'py>, _slf: Option<&Bound<'py, PyAny>>, args: &Args<'py>) -> PyRes<Bound<'py, PyAny>> {
    let size: i64 = match args.positional.get(1) {
        Some(s) => s.extract::<i64>().or_raise(py)?,
        None => -1,
    };
    let exact = args.positional.get(2).map(|e| e.is_truthy().unwrap_or(true)).unwrap_or(true);
    with_request(py, state_arg(args), "wsgi.input", |st| read_body(py, st, size, exact))
}

/// Reads up to `size` bytes (all remaining if negative); `exact` keeps reading until `size`
/// bytes or the end, otherwise one read returns what arrived.
fn read_body<'py>(py: Python<'py>, st: &mut RequestState, size: i64, exact: bool) -> PyRes<Bound<'py, PyAny>> {
    if let Some(err) = &st.input_error {
        return Err(os_error(py, &format!("mod_wsgi request data read error: {err}")));
    }
    let failed = |e: String| os_error(py, &format!("mod_wsgi request data read error: {e}"));
    let want = if size < 0 { usize::MAX } else { size as usize };
    if (1..=READ_IN_PLACE_MAX).contains(&want) && !st.input_eof {
        let mut result = Ok(0);
        let bytes = PyBytes::new_with(py, want, |buf| {
            result = fill(py, st, buf, exact);
            Ok(())
        })
        .or_raise(py)?;
        let n = result.map_err(failed)?;
        return Ok(if n == want { bytes.into_any() } else { PyBytes::new(py, &bytes.as_bytes()[..n]).into_any() });
    }
    let mut out = Vec::with_capacity(want.min(READ_CHUNK));
    while out.len() < want && !st.input_eof {
        let start = out.len();
        out.resize(start + (want - start).min(READ_CHUNK), 0);
        let n = fill(py, st, &mut out[start..], false).map_err(failed)?;
        out.truncate(start + n);
        if !exact && !out.is_empty() {
            break;
        }
    }
    Ok(PyBytes::new(py, &out).into_any())
}

/// Fills `buf` from the request body without the GIL: completely (or to the end of the body)
/// when `exact`, else with whatever the first read returns.
/// The GIL is released once for the whole loop: Apache hands the body over in pieces of a
/// few KB, and taking the GIL back for each piece costs more than the copy.
fn fill(py: Python<'_>, st: &mut RequestState, buf: &mut [u8], exact: bool) -> Result<usize, String> {
    let (mut filled, mut eof, mut reads) = (0, st.input_eof, 0);
    let transport = &mut st.transport;
    let started = std::time::Instant::now();
    let result: Result<usize, String> = without_gil(py, || {
        while filled < buf.len() && !eof {
            reads += 1;
            match transport.read_body(&mut buf[filled..])? {
                0 => eof = true,
                n => filled += n,
            }
            if !exact && filled > 0 {
                break;
            }
        }
        Ok(filled)
    });
    st.input_eof = eof;
    st.stats.input_reads += reads;
    st.stats.input_bytes += filled as u64;
    st.stats.input_time += started.elapsed();
    if let Err(e) = &result {
        st.input_error = Some(e.clone());
    }
    result
}

native_function!(log_c => log);

fn log<'py>(py: Python<'py>, _slf: Option<&Bound<'py, PyAny>>, args: &Args<'py>) -> PyRes<Bound<'py, PyAny>> {
    let data = args.positional.get(1).and_then(|d| d.cast::<PyBytes>().ok().map(|b| b.as_bytes().to_vec()));
    let Some(data) = data else { return Err(type_error(py, "_log(state, data) takes bytes")) };
    with_request(py, state_arg(args), "wsgi.errors", |st| {
        st.log_bytes(&data);
        Ok(())
    })?;
    Ok(py.None().into_bound(py))
}

thread_local! {
    /// Unterminated output of print() outside any request, per thread.
    static PARTIAL: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

native_function!(process_log_c => process_log);

fn process_log<'py>(py: Python<'py>, _slf: Option<&Bound<'py, PyAny>>, args: &Args<'py>) -> PyRes<Bound<'py, PyAny>> {
    let Some(data) = args.positional.first().and_then(|d| d.cast::<PyBytes>().ok().map(|b| b.as_bytes().to_vec())) else {
        return Err(type_error(py, "_process_log(data) takes bytes"));
    };
    let logged = with_current(|st| st.log_bytes(&data)).is_some();
    if !logged {
        PARTIAL.with(|p| {
            let mut p = p.borrow_mut();
            p.extend_from_slice(&data);
            while let Some(pos) = p.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = p.drain(..=pos).collect();
                if let Some(log) = SERVER_LOG.get() {
                    log(LogLevel::Error, &String::from_utf8_lossy(&line[..line.len() - 1]));
                }
            }
        });
    }
    Ok(py.None().into_bound(py))
}

native_function!(log_record_c => log_record);

fn log_record<'py>(py: Python<'py>, _slf: Option<&Bound<'py, PyAny>>, args: &Args<'py>) -> PyRes<Bound<'py, PyAny>> {
    let levelno = args.positional.first().and_then(|l| l.extract::<i64>().ok()).unwrap_or(40);
    let text = match args.positional.get(1).map(|t| t.cast::<PyString>().map(|s| s.to_string_lossy().into_owned())) {
        Some(Ok(t)) => t,
        _ => return Err(type_error(py, "_log_record(levelno, text) takes an int and a str")),
    };
    // Python logging levels onto Apache's: CRITICAL/ERROR, WARNING, INFO, DEBUG.
    let level = match levelno {
        n if n >= 40 => LogLevel::Error,
        n if n >= 30 => LogLevel::Warning,
        n if n >= 20 => LogLevel::Info,
        _ => LogLevel::Debug,
    };
    for line in text.lines() {
        if with_current(|st| st.log_for_script(level, line)).is_none() {
            if let Some(log) = SERVER_LOG.get() {
                log(level, line);
            }
        }
    }
    Ok(py.None().into_bound(py))
}

native_function!(request_data_c => request_data);

fn request_data<'py>(py: Python<'py>, _slf: Option<&Bound<'py, PyAny>>, _args: &Args<'py>) -> PyRes<Bound<'py, PyAny>> {
    let data = with_current(|st| match &st.data {
        Some(d) => Ok(d.bind(py)),
        None => {
            let d = pyo3::types::PyDict::new(py).into_any();
            st.data = Some(PyRef::new(d.clone()));
            Ok(d)
        }
    });
    data.unwrap_or_else(|| Err(runtime_error(py, "mod_wsgi.request_data() called outside of a request")))
}

native_function!(request_stats_c => request_stats);

/// (input_reads, input_bytes, input_time, output_length, output_writes, output_time, status,
/// gil_wait_time, gil_wait_count) of the request this thread is serving; times in seconds,
/// status 500 when the application gave none.
fn request_stats<'py>(py: Python<'py>, _slf: Option<&Bound<'py, PyAny>>, _args: &Args<'py>) -> PyRes<Bound<'py, PyAny>> {
    let stats = with_current(|st| {
        let s = st.stats;
        let (gil_us, gil_n) = crate::python::gil::gil_waits();
        let status = st.head.as_ref().map_or(500, |h| h.code);
        (
            s.input_reads,
            s.input_bytes,
            s.input_time.as_secs_f64(),
            st.body_sent,
            s.output_writes,
            s.output_time.as_secs_f64(),
            status,
            gil_us.saturating_sub(s.gil_waits_at_start.0) as f64 / 1e6,
            gil_n.saturating_sub(s.gil_waits_at_start.1),
        )
    });
    match stats {
        Some(t) => t.into_pyobject(py).map(|t| t.into_any()).or_raise(py),
        None => Err(runtime_error(py, "mod_wsgi._request_stats() called outside of a request")),
    }
}

thread_local! {
    /// When this thread's collection started: a pass's "start" and "stop" come on one thread.
    static GC_STARTED_US: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

native_function!(gc_callback_c => gc_callback);

/// gc.callbacks(phase, info) under WSGITelemetryService: times each pass (mod_wsgi 6's
/// wsgi_gc.c), for the reporter's GC_EVENT records. Never raises: a GC callback must not.
fn gc_callback<'py>(py: Python<'py>, _slf: Option<&Bound<'py, PyAny>>, args: &Args<'py>) -> PyRes<Bound<'py, PyAny>> {
    let now = crate::telemetry::reporter::now_us();
    let phase = args.positional.first().and_then(|p| p.extract::<String>().ok());
    match phase.as_deref() {
        Some("start") => GC_STARTED_US.with(|s| s.set(now)),
        Some("stop") => {
            let start = GC_STARTED_US.with(|s| s.get());
            let field = |name: &str| -> Option<u64> {
                let info = args.positional.get(1)?;
                info.get_item(name).ok()?.extract::<u64>().ok()
            };
            if let Some(generation) = field("generation").filter(|g| *g <= 255) {
                crate::telemetry::gc::push(crate::telemetry::gc::GcEvent {
                    start_us: start,
                    duration_us: now.saturating_sub(start),
                    generation,
                    collected: field("collected").unwrap_or(0),
                    uncollectable: field("uncollectable").unwrap_or(0),
                });
            }
        }
        _ => {}
    }
    Ok(py.None().into_bound(py))
}

native_function!(process_counters_c => process_counters);

fn process_counters<'py>(py: Python<'py>, _slf: Option<&Bound<'py, PyAny>>, _args: &Args<'py>) -> PyRes<Bound<'py, PyAny>> {
    super::run::process_counters().into_pyobject(py).map(|t| t.into_any()).or_raise(py)
}

native_function!(current_script_c => current_script);

fn current_script<'py>(py: Python<'py>, _slf: Option<&Bound<'py, PyAny>>, _args: &Args<'py>) -> PyRes<Bound<'py, PyAny>> {
    Ok(match with_current(|st| st.script.clone()) {
        Some(script) => PyString::new(py, &script).into_any(),
        None => py.None().into_bound(py),
    })
}
