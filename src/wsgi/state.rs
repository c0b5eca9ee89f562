//! Per-request state shared between the request loop and the native callables the
//! application gets (start_response, write, wsgi.input, wsgi.errors).

use super::transport::{LogLevel, Transport};
use crate::python::native::CapsuleType;
use std::cell::RefCell;
use std::rc::Rc;

pub struct Head {
    pub code: u16,
    pub line: String,
    pub headers: Vec<(String, String)>,
    pub content_length: Option<u64>,
}

/// What a request did, for mod_wsgi 6's request_finished event and request metrics.
#[derive(Default, Clone, Copy)]
pub struct RequestStats {
    pub input_reads: u64,
    pub input_bytes: u64,
    pub input_time: std::time::Duration,
    pub output_writes: u64,
    pub output_time: std::time::Duration,
    /// This thread's GIL waits when the request started (see gil::gil_waits).
    pub gil_waits_at_start: (u64, u64),
}

pub struct RequestState {
    pub stats: RequestStats,
    pub transport: Box<dyn Transport>,
    pub script: String,
    /// Where the script runs, as mod_wsgi words it in its log lines: "main interpreter in
    /// embedded mode", "sub-interpreter 'x' of daemon process 'y'".
    pub interp_context: String,
    pub head: Option<Head>,
    pub head_sent: bool,
    pub body_sent: u64,
    pub input_eof: bool,
    pub input_error: Option<String>,
    pub log_partial: Vec<u8>,
    pub client_gone: bool,
    /// A body longer than its Content-Length was cut, and that was logged.
    pub body_cut_logged: bool,
    /// `mod_wsgi.request_data()`, made on first use (a strong reference, released at the end).
    pub data: Option<crate::python::mod_wsgi::PyRef>,
    /// `mod_wsgi._response_started`, when event subscribers want it (released at the end).
    pub response_hook: Option<crate::python::mod_wsgi::PyRef>,
    /// The last body bytes of a complete small response, sent once the GIL is released for
    /// good (see run::FinishLater).
    pub finish_later: Option<Vec<u8>>,
}

impl RequestState {
    pub fn new(transport: Box<dyn Transport>, script: String, interp_context: String) -> RequestState {
        RequestState {
            stats: RequestStats { gil_waits_at_start: crate::python::gil::gil_waits(), ..RequestStats::default() },
            transport,
            script,
            interp_context,
            head: None,
            head_sent: false,
            body_sent: 0,
            input_eof: false,
            input_error: None,
            log_partial: Vec::new(),
            client_gone: false,
            body_cut_logged: false,
            data: None,
            response_hook: None,
            finish_later: None,
        }
    }

    /// Appends bytes written to wsgi.errors; each complete line becomes one log entry.
    pub fn log_bytes(&mut self, data: &[u8]) {
        self.log_partial.extend_from_slice(data);
        while let Some(pos) = self.log_partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.log_partial.drain(..=pos).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
            self.log_for_script(LogLevel::Error, &text);
        }
    }

    /// A line the application's script produced, tagged with the script as mod_wsgi does
    /// ("[script /srv/app.wsgi] ..."), so a log line can be traced to its application.
    pub fn log_for_script(&self, level: LogLevel, text: &str) {
        self.transport.log(level, &format!("[script {}] {text}", self.script));
    }

    /// Whether the response may carry a body: not for HEAD (Apache drops it) nor for the
    /// statuses HTTP defines as bodiless, whatever Content-Length says.
    pub fn body_expected(&self) -> bool {
        let code = self.head.as_ref().map_or(200, |h| h.code);
        !self.transport.is_head() && !matches!(code, 100..=199 | 204 | 304)
    }

    /// Releases the Python objects the state holds (GIL held, in the request's interpreter).
    pub fn release(&mut self, py: pyo3::Python<'_>) {
        if let Some(d) = self.data.take() {
            drop(d.into_owned(py));
        }
        if let Some(h) = self.response_hook.take() {
            drop(h.into_owned(py));
        }
    }

    /// Logs what is left of an unterminated line.
    pub fn flush_log(&mut self) {
        if !self.log_partial.is_empty() {
            let text = String::from_utf8_lossy(&self.log_partial).into_owned();
            self.log_partial.clear();
            self.log_for_script(LogLevel::Error, &text);
        }
    }

    /// How much of `len` more body bytes may still go out under the app's Content-Length.
    /// A HEAD answer whose application set a Content-Length sends no body at all: Apache
    /// drops it anyway, and a complete body in one pass would make Apache replace the
    /// application's Content-Length with the length of what it computed.
    pub fn allowed_body(&self, len: usize) -> usize {
        match self.head.as_ref().and_then(|h| h.content_length) {
            Some(_) if self.transport.is_head() => 0,
            Some(cl) => len.min(cl.saturating_sub(self.body_sent) as usize),
            None => len,
        }
    }
}

/// What the capsule given to Python holds: the request's state while the request runs, nothing
/// after it (so a callable kept past the request raises instead of acting on a finished one).
pub struct Slot {
    state: RefCell<Option<Rc<RefCell<RequestState>>>>,
}

impl CapsuleType for Slot {
    const NAME: &'static std::ffi::CStr = c"mod_wsgi_rs.request";
}

impl Slot {
    pub fn new(state: Rc<RefCell<RequestState>>) -> Slot {
        Slot { state: RefCell::new(Some(state)) }
    }

    pub fn state(&self) -> Option<Rc<RefCell<RequestState>>> {
        self.state.borrow().clone()
    }

    pub fn end(&self) {
        self.state.borrow_mut().take();
    }
}
