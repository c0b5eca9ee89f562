//! One WSGI call: the application, its iterable, close(), and what becomes of errors.

use super::callbacks::{START_RESPONSE, set_current};
use super::response::{NO_START_RESPONSE, cut_to_content_length, ensure_head_sent, send_chunks};
use super::state::{RequestState, Slot};
use super::transport::{Ended, LogLevel, Transport};
use crate::python::exceptions::{OrRaise, PyRes, Raised, restore_exception, take_exception, traceback_lines, type_error};
use crate::python::gil::without_gil;
use crate::python::mod_wsgi::{Glue, PyRef};
use crate::python::native::{capsule, capsule_ref};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

/// How a request ended, for the transport's caller.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A response was sent (possibly cut short by the client leaving).
    Sent,
    /// Nothing was sent and the request failed: answer 500.
    Failed,
}

/// The end of a small response that was complete when the application returned: sent by
/// the caller after it released the GIL, so the request takes the GIL once, not twice (with
/// many threads, each GIL hand-over is a wake-up and a context switch).
pub struct FinishLater {
    transport: Box<dyn Transport>,
    last: Vec<u8>,
}

impl FinishLater {
    /// Sends the bytes and ends the response (no GIL needed).
    pub fn send(mut self) {
        let _ = self.transport.finish(&[&self.last]);
    }
}

/// Responses whose last bytes are at most this long are finished after the GIL is released.
const FINISH_LATER_MAX: usize = 16 * 1024;

/// Requests this process has run, and the time they took (mod_wsgi 6's process_metrics
/// request_count / request_busy_time), counted whether or not anything asked for metrics.
static REQUESTS: AtomicU64 = AtomicU64::new(0);
static BUSY_US: AtomicU64 = AtomicU64::new(0);

/// (request_count, request_busy_time in seconds) of this process so far.
pub fn process_counters() -> (u64, f64) {
    (REQUESTS.load(Ordering::Relaxed), BUSY_US.load(Ordering::Relaxed) as f64 / 1e6)
}

/// Runs `app(environ, start_response)` and streams its response through `transport`.
/// `environ` has the CGI variables; the wsgi.* objects tied to this request are added here.
/// A small complete response may be left for the caller to send without the GIL.
pub fn run_request(
    py: Python<'_>,
    glue: &Glue,
    app: &Bound<'_, PyAny>,
    environ: &Bound<'_, PyDict>,
    transport: Box<dyn Transport>,
    script: &str,
    interp_context: &str,
) -> (Outcome, Option<FinishLater>) {
    let began = std::time::Instant::now();
    let state = Rc::new(RefCell::new(RequestState::new(transport, script.to_string(), interp_context.to_string())));
    let slot = match capsule(py, Slot::new(state.clone())) {
        Ok(c) => c,
        Err(e) => {
            crate::python::exceptions::swallow(py, e);
            return (Outcome::Failed, None);
        }
    };
    let metrics = crate::metrics::table::mine();
    if let Some(m) = metrics {
        m.request_started();
    }
    set_current(Some(state.clone()));
    let recording = super::record::begin(environ);
    let outcome = match call(py, glue, app, environ, &slot, &state) {
        Ok(outcome) => outcome,
        Err(Raised) => fail(py, glue, &state),
    };
    if let Some(started) = recording {
        super::record::end(started, &state.borrow(), &outcome);
    }
    let later = {
        let mut st = state.borrow_mut();
        if let Some(m) = metrics {
            let (gil_us, _) = crate::python::gil::gil_waits();
            let gil_wait = std::time::Duration::from_micros(gil_us.saturating_sub(st.stats.gil_waits_at_start.0));
            m.request_finished(st.head.as_ref().map_or(0, |h| h.code), began.elapsed(), gil_wait);
        }
        st.flush_log();
        st.release(py);
        // The transport leaves the state even when the app keeps a reference to it (through
        // wsgi.input, write...): the request it serves ends with this call or FinishLater.
        let transport = std::mem::replace(&mut st.transport, Box::new(Ended));
        st.finish_later.take().map(|last| FinishLater { transport, last })
    };
    set_current(None);
    REQUESTS.fetch_add(1, Ordering::Relaxed);
    BUSY_US.fetch_add(began.elapsed().as_micros() as u64, Ordering::Relaxed);
    // From here on, anything the application kept (write, wsgi.input...) raises RuntimeError.
    if let Some(slot) = capsule_ref::<Slot>(&slot) {
        slot.end();
    }
    (outcome, later)
}

fn call(
    py: Python<'_>,
    glue: &Glue,
    app: &Bound<'_, PyAny>,
    environ: &Bound<'_, PyDict>,
    slot: &Bound<'_, PyAny>,
    state: &RefCell<RequestState>,
) -> PyRes<Outcome> {
    let input = glue.input_class.bind(py).call1((slot,)).or_raise(py)?;
    let errors = glue.errors_for.bind(py).call1((slot,)).or_raise(py)?;
    environ.set_item("wsgi.input", input).or_raise(py)?;
    environ.set_item("wsgi.errors", errors).or_raise(py)?;
    environ.set_item("mod_wsgi.application_start", now_seconds()).or_raise(py)?;
    let start_response = START_RESPONSE.bind(py, slot).or_raise(py)?;

    if !glue.hooks_wanted(py) {
        return call_app(py, glue, app, environ, &start_response, state);
    }
    // Event subscribers or metrics: they may wrap the application, and see how it ended.
    let started = glue.request_started.bind(py).call1((environ, app)).or_raise(py)?;
    let (app, token): (Bound<'_, PyAny>, Bound<'_, PyAny>) = started.extract().or_raise(py)?;
    state.borrow_mut().response_hook = Some(PyRef::new(glue.response_started.bind(py)));
    let result = call_app(py, glue, &app, environ, &start_response, state);
    let failure = result.as_ref().err().and_then(|Raised| take_exception(py));
    if let Some(exc) = &failure {
        if let Err(e) = glue.request_exception.bind(py).call1((exc,)) {
            crate::python::exceptions::swallow(py, e);
        }
    }
    let sent = state.borrow().body_sent;
    if let Err(e) = glue.request_finished.bind(py).call1((token, sent)) {
        crate::python::exceptions::swallow(py, e);
    }
    match failure {
        Some(exc) => Err(restore_exception(exc)),
        None => result,
    }
}

fn call_app(
    py: Python<'_>,
    glue: &Glue,
    app: &Bound<'_, PyAny>,
    environ: &Bound<'_, PyDict>,
    start_response: &Bound<'_, PyAny>,
    state: &RefCell<RequestState>,
) -> PyRes<Outcome> {
    let iterable = app.call1((environ, start_response)).or_raise(py)?;
    // The failure is taken out before close() runs: no Python code may run while an
    // exception is pending, and close() must run in every case.
    let streamed = stream(py, glue, &iterable, state).map_err(|Raised| take_exception(py));
    let closed = close(py, &iterable).map_err(|Raised| take_exception(py));
    match (streamed, closed) {
        (Ok(outcome), Ok(())) => Ok(outcome),
        (Err(failure), Ok(())) => Err(reraise(failure)),
        (Ok(outcome), Err(failure)) => {
            if state.borrow().head_sent {
                // close() failed after the response was complete: log it, keep the response.
                log_exception_value(py, state, failure);
                Ok(outcome)
            } else {
                Err(reraise(failure))
            }
        }
        (Err(failure), Err(close_failure)) => {
            log_exception_value(py, state, close_failure);
            Err(reraise(failure))
        }
    }
}

fn reraise(exc: Option<Bound<'_, PyAny>>) -> Raised {
    match exc {
        Some(exc) => restore_exception(exc),
        None => Raised,
    }
}

fn close(py: Python<'_>, iterable: &Bound<'_, PyAny>) -> PyRes<()> {
    // The usual result, a plain list or tuple, has no close(): asking would raise and drop
    // an AttributeError on every request (on Python < 3.13).
    if iterable.is_exact_instance_of::<PyList>() || iterable.is_exact_instance_of::<PyTuple>() {
        return Ok(());
    }
    match iterable.hasattr("close").or_raise(py)? {
        true => iterable.call_method0("close").map(drop).or_raise(py),
        false => Ok(()),
    }
}

fn now_seconds() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Logs the set exception with its traceback, then decides: 500 if nothing was sent, else
/// the started response is aborted so the client sees it is incomplete. A
/// `mod_wsgi.RequestTimeout` before the response started is mod_wsgi 6's 504 instead.
fn fail(py: Python<'_>, glue: &Glue, state: &RefCell<RequestState>) -> Outcome {
    let head_sent = state.borrow().head_sent;
    let exc = take_exception(py);
    if !head_sent && exc.as_ref().is_some_and(|e| is_request_timeout(glue, e)) {
        drop(exc);
        return answer_request_timeout(py, state);
    }
    log_exception_value(py, state, exc);
    let mut st = state.borrow_mut();
    if head_sent {
        st.transport.log(LogLevel::Error, "Response was truncated: the application failed after the response had started");
        let transport = &mut st.transport;
        without_gil(py, || transport.abort());
        Outcome::Sent
    } else {
        Outcome::Failed
    }
}

fn is_request_timeout(glue: &Glue, exc: &Bound<'_, PyAny>) -> bool {
    let py = exc.py();
    match glue.module.bind(py).getattr("RequestTimeout") {
        Ok(kind) => exc.is_instance(&kind).unwrap_or(false),
        Err(e) => {
            crate::python::exceptions::swallow(py, e);
            false
        }
    }
}

/// The thread gave up on the request (interrupt-timeout injected RequestTimeout, or the
/// application raised it itself): an empty 504, and the thread serves on.
fn answer_request_timeout(py: Python<'_>, state: &RefCell<RequestState>) -> Outcome {
    let mut st = state.borrow_mut();
    st.log_for_script(LogLevel::Info, "Request interrupted by RequestTimeout; thread recovered.");
    st.head = Some(super::state::Head { code: 504, line: "504 Gateway Timeout".into(), headers: Vec::new(), content_length: None });
    if ensure_head_sent(&mut st).is_err() {
        return Outcome::Failed;
    }
    let transport = &mut st.transport;
    if without_gil(py, || transport.finish(&[])).is_err() {
        st.client_gone = true;
    }
    Outcome::Sent
}

/// Logs an exception the way mod_wsgi 6 does (a WSGI0174 line naming the exception type,
/// the script and the interpreter; WSGI0175 for SystemExit), followed by its traceback,
/// which mod_wsgi 6 leaves out.
fn log_exception_value(py: Python<'_>, state: &RefCell<RequestState>, exc: Option<Bound<'_, PyAny>>) {
    let Some(exc) = exc else { return };
    let lines = traceback_lines(py, &exc);
    let st = state.borrow();
    let kind = exc.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "Exception".into());
    let header = if crate::python::exceptions::is_system_exit(&exc) {
        format!("WSGI0175: [script {0}] {kind} exception raised by WSGI script '{0}' for {1}; ignored.", st.script, st.interp_context)
    } else {
        format!("WSGI0174: [script {0}] {kind} exception raised processing WSGI script '{0}' for {1}.", st.script, st.interp_context)
    };
    st.transport.log(LogLevel::Error, &header);
    if let Some(hint) = crate::python::exceptions::own_gil_import_hint(&exc) {
        st.transport.log(LogLevel::Error, &hint);
    }
    for line in lines {
        st.transport.log(LogLevel::Error, &line);
    }
}

fn stream(py: Python<'_>, glue: &Glue, iterable: &Bound<'_, PyAny>, state: &RefCell<RequestState>) -> PyRes<Outcome> {
    if iterable.is_instance(&glue.file_wrapper_class.bind(py)).or_raise(py)? && !state.borrow().head_sent {
        if let Some(outcome) = send_file(py, glue, iterable, state)? {
            return Ok(outcome);
        }
    }
    if let Ok(list) = iterable.cast::<PyList>() {
        let items: Vec<_> = list.iter().collect();
        return send_sequence(py, &items, state);
    }
    if let Ok(tuple) = iterable.cast::<PyTuple>() {
        let items: Vec<_> = tuple.iter().collect();
        return send_sequence(py, &items, state);
    }
    for item in iterable.try_iter().or_raise(py)? {
        let item = item.or_raise(py)?;
        let bytes = as_bytes(py, &item)?;
        if bytes.as_bytes().is_empty() {
            continue;
        }
        let mut st = state.borrow_mut();
        head_or_error(py, &mut st)?;
        // Flush each chunk: a generator's output is meant to reach the client as produced.
        if send_chunks(py, &mut st, &[bytes.as_bytes()], true).is_err() {
            st.transport.log(LogLevel::Info, "Client closed the connection; response not completed");
            return Ok(Outcome::Sent);
        }
    }
    finish(py, state, &[])
}

fn as_bytes<'a, 'py>(py: Python<'py>, item: &'a Bound<'py, PyAny>) -> PyRes<&'a Bound<'py, PyBytes>> {
    item.cast::<PyBytes>().map_err(|_| {
        let kind = item.get_type().name().map(|n| n.to_string()).unwrap_or_default();
        type_error(py, &format!("response iterable must yield bytes, not {kind}"))
    })
}

fn head_or_error(py: Python<'_>, st: &mut RequestState) -> PyRes<()> {
    ensure_head_sent(st).map_err(|m| crate::python::exceptions::runtime_error(py, m))
}

/// A list or tuple goes out in one pass, without per-item flushes.
fn send_sequence(py: Python<'_>, items: &[Bound<'_, PyAny>], state: &RefCell<RequestState>) -> PyRes<Outcome> {
    let mut chunks = Vec::with_capacity(items.len());
    for item in items {
        chunks.push(as_bytes(py, item)?.as_bytes());
    }
    finish(py, state, &chunks)
}

/// Sends the head if still due, the last chunks, and ends the response.
fn finish(py: Python<'_>, state: &RefCell<RequestState>, last: &[&[u8]]) -> PyRes<Outcome> {
    let mut st = state.borrow_mut();
    head_or_error(py, &mut st)?;
    let last = cut_to_content_length(&mut st, last);
    if st.client_gone {
        return Ok(Outcome::Sent);
    }
    if let Some(promised) = st.head.as_ref().and_then(|h| h.content_length).filter(|_| st.body_expected()) {
        // A keep-alive client would wait for the missing bytes until a timeout: end the
        // connection instead, and say why.
        let sent = st.body_sent; // already counts `last`
        if sent < promised {
            st.transport.log(
                LogLevel::Warning,
                &format!("Response body of '{}' is {sent} bytes, shorter than its Content-Length of {promised}; closing the connection", st.script),
            );
            let transport = &mut st.transport;
            without_gil(py, || {
                let _ = transport.send(&last, false);
                transport.abort()
            });
            return Ok(Outcome::Sent);
        }
    }
    if !last.is_empty() {
        st.stats.output_writes += 1;
    }
    if last.iter().map(|c| c.len()).sum::<usize>() <= FINISH_LATER_MAX {
        st.finish_later = Some(last.concat());
        return Ok(Outcome::Sent);
    }
    let transport = &mut st.transport;
    let started = std::time::Instant::now();
    if without_gil(py, || transport.finish(&last)).is_err() {
        st.client_gone = true;
    }
    st.stats.output_time += started.elapsed();
    Ok(Outcome::Sent)
}

/// wsgi.file_wrapper over a regular file: Apache sends the file itself. None = not possible,
/// iterate instead.
fn send_file(py: Python<'_>, glue: &Glue, wrapper: &Bound<'_, PyAny>, state: &RefCell<RequestState>) -> PyRes<Option<Outcome>> {
    let info = glue.sendfile_info.bind(py).call1((wrapper,)).or_raise(py)?;
    if info.is_none() {
        return Ok(None);
    }
    let (fd, offset, size): (i32, u64, u64) = info.extract().or_raise(py)?;
    let mut st = state.borrow_mut();
    let Some(head) = st.head.as_mut() else {
        return Err(crate::python::exceptions::runtime_error(py, NO_START_RESPONSE));
    };
    let available = size - offset;
    let length = match head.content_length {
        Some(cl) => cl.min(available),
        None => {
            head.headers.push(("Content-Length".into(), available.to_string()));
            head.content_length = Some(available);
            available
        }
    };
    head_or_error(py, &mut st)?;
    st.body_sent = length;
    let transport = &mut st.transport;
    let started = std::time::Instant::now();
    let sent = without_gil(py, || transport.send_file(fd, offset, length).and_then(|()| transport.finish(&[])));
    st.stats.output_writes += 1;
    st.stats.output_time += started.elapsed();
    if sent.is_err() {
        st.client_gone = true;
    }
    Ok(Some(Outcome::Sent))
}
