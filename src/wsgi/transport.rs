//! What the WSGI core needs from a transport (embedded: Apache's request_rec and brigades;
//! daemon mode: the daemon socket). Every method that may block is called without the GIL.

use std::os::fd::RawFd;

/// The client went away or the connection failed; nothing more can be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientGone;

/// Why a request body could not be read to its end (in daemon mode this travels to the
/// daemon as a `BodyFailed` frame).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum BodyFailure {
    ClientClosed = 0,
    TimedOut = 1,
    /// Apache's input filters refused it (malformed chunked encoding, over LimitRequestBody)
    /// and answered the client themselves.
    Refused = 2,
    Other = 3,
}

impl BodyFailure {
    pub fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            0 => BodyFailure::ClientClosed,
            1 => BodyFailure::TimedOut,
            2 => BodyFailure::Refused,
            3 => BodyFailure::Other,
            _ => return None,
        })
    }

    /// What happened, in words for the error log and the application's OSError.
    pub fn describe(self) -> &'static str {
        match self {
            BodyFailure::ClientClosed => "the client closed the connection before the request body was complete",
            BodyFailure::TimedOut => "timed out waiting for the rest of the request body from the client",
            BodyFailure::Refused => "the request body is malformed (bad chunked encoding) or over LimitRequestBody",
            BodyFailure::Other => "the client connection failed while the request body was read",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Error,
    Warning,
    Info,
    Debug,
}

pub trait Transport {
    /// Reads body bytes into `buf`; `Ok(0)` at the end of the body (and every time after).
    fn read_body(&mut self, buf: &mut [u8]) -> Result<usize, String>;

    /// Sets the response status and headers (already validated); called once, before any body.
    fn set_response_head(&mut self, code: u16, status_line: &str, headers: &[(String, String)]);

    /// Sends body bytes; `flush` pushes them to the client now (streaming).
    fn send(&mut self, chunks: &[&[u8]], flush: bool) -> Result<(), ClientGone>;

    /// Sends `len` bytes of an open regular file from `offset` (sendfile where allowed).
    fn send_file(&mut self, fd: RawFd, offset: u64, len: u64) -> Result<(), ClientGone>;

    /// Sends the last body bytes (maybe none) and completes the response, in one pass so the
    /// server can still compute a Content-Length.
    fn finish(&mut self, last: &[&[u8]]) -> Result<(), ClientGone>;

    /// Ends a response that has already started but cannot be completed: the client must be
    /// able to tell it is truncated (no final chunk, connection closed).
    fn abort(&mut self);

    /// A line for the error log, decorated with this request's context.
    fn log(&self, level: LogLevel, msg: &str);

    /// HEAD request: the body is computed but not sent.
    fn is_head(&self) -> bool;
}

/// What a request's state holds once its transport was taken away (see run::FinishLater):
/// every use fails quietly.
pub struct Ended;

impl Transport for Ended {
    fn read_body(&mut self, _buf: &mut [u8]) -> Result<usize, String> {
        Err("the request has ended".into())
    }

    fn set_response_head(&mut self, _code: u16, _status_line: &str, _headers: &[(String, String)]) {}

    fn send(&mut self, _chunks: &[&[u8]], _flush: bool) -> Result<(), ClientGone> {
        Err(ClientGone)
    }

    fn send_file(&mut self, _fd: RawFd, _offset: u64, _len: u64) -> Result<(), ClientGone> {
        Err(ClientGone)
    }

    fn finish(&mut self, _last: &[&[u8]]) -> Result<(), ClientGone> {
        Err(ClientGone)
    }

    fn abort(&mut self) {}

    fn log(&self, _level: LogLevel, _msg: &str) {}

    fn is_head(&self) -> bool {
        false
    }
}
