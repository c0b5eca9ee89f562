//! The frame types: what travels, as Rust values.

use super::{BodyFailure, MAX_LIST_BYTES, Pairs, REQUEST_FIXED, SECRET_LEN, WireError};
use std::fmt;
use std::num::NonZeroU32;

/// The frame kinds and their wire bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    RequestHead = 1,
    BodyRequest = 2,
    Body = 3,
    BodyEnd = 4,
    ResponseHead = 5,
    SendFile = 6,
    Flush = 7,
    End = 8,
    Rejected = 9,
    Ping = 10,
    Pong = 11,
    BodyFailed = 12,
}

impl Kind {
    pub fn from_byte(b: u8) -> Option<Kind> {
        Some(match b {
            1 => Kind::RequestHead,
            2 => Kind::BodyRequest,
            3 => Kind::Body,
            4 => Kind::BodyEnd,
            5 => Kind::ResponseHead,
            6 => Kind::SendFile,
            7 => Kind::Flush,
            8 => Kind::End,
            9 => Kind::Rejected,
            10 => Kind::Ping,
            11 => Kind::Pong,
            12 => Kind::BodyFailed,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::RequestHead => "RequestHead",
            Kind::BodyRequest => "BodyRequest",
            Kind::Body => "Body",
            Kind::BodyEnd => "BodyEnd",
            Kind::ResponseHead => "ResponseHead",
            Kind::SendFile => "SendFile",
            Kind::Flush => "Flush",
            Kind::End => "End",
            Kind::Rejected => "Rejected",
            Kind::Ping => "Ping",
            Kind::Pong => "Pong",
            Kind::BodyFailed => "BodyFailed",
        }
    }

    /// Payload length of the fixed-size kinds; checked exactly from the header.
    pub(super) fn fixed_len(self) -> Option<u32> {
        match self {
            Kind::BodyEnd | Kind::Flush | Kind::Ping | Kind::Pong => Some(0),
            Kind::End | Kind::Rejected | Kind::BodyFailed => Some(1),
            Kind::BodyRequest => Some(4),
            Kind::SendFile => Some(16),
            Kind::RequestHead | Kind::ResponseHead | Kind::Body => None,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Per-request switches the child computed from its configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestFlags {
    pub script_reloading: bool,
    pub enable_sendfile: bool,
    pub ignore_activity: bool,
    pub head_request: bool,
    /// The request came over TLS (mod_ssl's `HTTPS`, or a trusted proxy header said so).
    pub https: bool,
}

impl RequestFlags {
    pub const SCRIPT_RELOADING: u32 = 1 << 0;
    pub const ENABLE_SENDFILE: u32 = 1 << 1;
    pub const IGNORE_ACTIVITY: u32 = 1 << 2;
    pub const HEAD_REQUEST: u32 = 1 << 3;
    pub const HTTPS: u32 = 1 << 4;
    const ALL: u32 = 0b1_1111;

    pub fn to_bits(self) -> u32 {
        [
            (self.script_reloading, Self::SCRIPT_RELOADING),
            (self.enable_sendfile, Self::ENABLE_SENDFILE),
            (self.ignore_activity, Self::IGNORE_ACTIVITY),
            (self.head_request, Self::HEAD_REQUEST),
            (self.https, Self::HTTPS),
        ]
        .into_iter()
        .filter(|&(on, _)| on)
        .fold(0, |bits, (_, bit)| bits | bit)
    }

    /// `None` if an unknown bit is set: both ends are the same build, so a stray bit means a
    /// corrupt stream, not a newer peer.
    pub fn from_bits(bits: u32) -> Option<Self> {
        if bits & !Self::ALL != 0 {
            return None;
        }
        Some(RequestFlags {
            script_reloading: bits & Self::SCRIPT_RELOADING != 0,
            enable_sendfile: bits & Self::ENABLE_SENDFILE != 0,
            ignore_activity: bits & Self::IGNORE_ACTIVITY != 0,
            head_request: bits & Self::HEAD_REQUEST != 0,
            https: bits & Self::HTTPS != 0,
        })
    }
}

/// The head of a request, as computed by the Apache child.
///
/// The script and application group are typed fields, not environ entries, so nothing in
/// the request's environ (a `SetEnv`, say) can stand in for them. They are private so that
/// every value fits a frame (checked by [`RequestHead::new`]).
#[derive(Clone, PartialEq, Eq)]
pub struct RequestHead {
    pub secret: [u8; SECRET_LEN],
    /// When Apache started the request (µs since the epoch).
    pub request_start_us: u64,
    /// When the child started waiting for the daemon (µs since the epoch).
    pub queue_start_us: u64,
    pub flags: RequestFlags,
    script: String,
    application_group: String,
    /// The environ entries, already computed by the child (the daemon does not re-derive).
    pub environ: Pairs,
}

impl RequestHead {
    /// `script`: the WSGI script file the daemon loads (the child checked its owner);
    /// `application_group`: the interpreter it runs in. Together they take at most half the
    /// u32 range (the environ, bounded by [`Pairs`], gets the other half).
    pub fn new(
        secret: [u8; SECRET_LEN],
        request_start_us: u64,
        queue_start_us: u64,
        flags: RequestFlags,
        script: String,
        application_group: String,
        environ: Pairs,
    ) -> Result<Self, WireError> {
        let len = script.len().saturating_add(application_group.len());
        if len > MAX_LIST_BYTES {
            let what = "script path and application group";
            return Err(WireError::TooLargeToEncode { what, len });
        }
        Ok(RequestHead {
            secret,
            request_start_us,
            queue_start_us,
            flags,
            script,
            application_group,
            environ,
        })
    }

    pub fn script(&self) -> &str {
        &self.script
    }

    pub fn application_group(&self) -> &str {
        &self.application_group
    }

    /// Compares the secret in constant time, so a probing peer learns nothing from timing.
    pub fn secret_matches(&self, expected: &[u8; SECRET_LEN]) -> bool {
        let diff = self.secret.iter().zip(expected).fold(0u8, |d, (a, b)| d | (a ^ b));
        std::hint::black_box(diff) == 0
    }

    pub(super) fn payload_len(&self) -> usize {
        let texts = 4 + self.script.len() + 4 + self.application_group.len();
        REQUEST_FIXED + texts + self.environ.encoded_len()
    }
}

impl fmt::Debug for RequestHead {
    // The secret stays out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestHead")
            .field("secret", &"<redacted>")
            .field("request_start_us", &self.request_start_us)
            .field("queue_start_us", &self.queue_start_us)
            .field("flags", &self.flags)
            .field("script", &self.script)
            .field("application_group", &self.application_group)
            .field("environ", &self.environ)
            .finish()
    }
}

/// The status and headers of a response. Fields are private so that every value fits a frame
/// (checked by [`ResponseHead::new`]), which keeps [`encode`](super::encode) infallible.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    status: u16,
    status_line: Vec<u8>,
    headers: Pairs,
}

impl ResponseHead {
    /// `status_line` is the full WSGI status, e.g. `b"200 OK"`.
    pub fn new(
        status: u16,
        status_line: impl Into<Vec<u8>>,
        headers: Pairs,
    ) -> Result<Self, WireError> {
        let status_line = status_line.into();
        // The headers take at most half the u32 range; the status line gets the other half.
        if status_line.len() > MAX_LIST_BYTES {
            return Err(WireError::TooLargeToEncode {
                what: "status line",
                len: status_line.len(),
            });
        }
        Ok(ResponseHead { status, status_line, headers })
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    pub fn status_line(&self) -> &[u8] {
        &self.status_line
    }

    pub fn headers(&self) -> &Pairs {
        &self.headers
    }

    pub fn into_parts(self) -> (u16, Vec<u8>, Pairs) {
        (self.status, self.status_line, self.headers)
    }

    pub(super) fn payload_len(&self) -> usize {
        2 + 4 + self.status_line.len() + self.headers.encoded_len()
    }
}

/// How a response ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Outcome {
    /// Everything was sent.
    Complete = 0,
    /// Truncated after the head was sent: the child must make the client see the truncation.
    Aborted = 1,
    /// Nothing was sent: the child answers 500.
    Failed = 2,
    /// Nothing was sent, the script has no such callable: the child answers 404 (as mod_wsgi).
    NotFound = 3,
}

impl Outcome {
    pub fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            0 => Outcome::Complete,
            1 => Outcome::Aborted,
            2 => Outcome::Failed,
            3 => Outcome::NotFound,
            _ => return None,
        })
    }
}

/// Why a daemon refused a request it never started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum RejectReason {
    /// Reload or recycle: retry on a new connection (another process).
    Restarting = 0,
    /// Waited too long in the queue: the child answers 504.
    QueueTimeout = 1,
}

impl RejectReason {
    pub fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            0 => RejectReason::Restarting,
            1 => RejectReason::QueueTimeout,
            _ => return None,
        })
    }
}

/// One frame. See the module docs for directions and meaning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    RequestHead(RequestHead),
    /// The child may send this many more request-body bytes (non-zero: `Body` is never empty).
    BodyRequest {
        max: NonZeroU32,
    },
    /// Body bytes. [`encode`](super::encode) writes nothing for an empty one (an app may
    /// `write(b"")`) and splits one longer than [`BODY_CHUNK`](super::BODY_CHUNK).
    Body(Vec<u8>),
    BodyEnd,
    ResponseHead(ResponseHead),
    SendFile {
        offset: u64,
        length: u64,
    },
    Flush,
    End(Outcome),
    Rejected(RejectReason),
    Ping,
    Pong,
    /// The request body could not be read to its end: the application must see an error,
    /// never a short body passed off as complete.
    BodyFailed(BodyFailure),
}

impl Frame {
    pub fn kind(&self) -> Kind {
        match self {
            Frame::RequestHead(_) => Kind::RequestHead,
            Frame::BodyRequest { .. } => Kind::BodyRequest,
            Frame::Body(_) => Kind::Body,
            Frame::BodyEnd => Kind::BodyEnd,
            Frame::ResponseHead(_) => Kind::ResponseHead,
            Frame::SendFile { .. } => Kind::SendFile,
            Frame::Flush => Kind::Flush,
            Frame::End(_) => Kind::End,
            Frame::Rejected(_) => Kind::Rejected,
            Frame::Ping => Kind::Ping,
            Frame::Pong => Kind::Pong,
            Frame::BodyFailed(_) => Kind::BodyFailed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::super::testkit::*;

    #[test]
    fn kind_bytes_round_trip_and_unknown_are_rejected() {
        for b in 0..=255u8 {
            match Kind::from_byte(b) {
                Some(k) => assert_eq!(k as u8, b),
                None => assert!(b == 0 || b > 11),
            }
        }
    }

    #[test]
    fn flags_round_trip_and_unknown_bits_rejected() {
        for bits in 0..32u32 {
            assert_eq!(RequestFlags::from_bits(bits).unwrap().to_bits(), bits);
        }
        assert_eq!(RequestFlags::from_bits(32), None);
        assert_eq!(RequestFlags::from_bits(1 << 31), None);
    }

    #[test]
    fn secret_check_and_redacted_debug() {
        let h = request_head();
        assert!(h.secret_matches(b"0123456789abcdef0123456789ABCDEF"));
        assert!(!h.secret_matches(b"0123456789abcdef0123456789ABCDEg"));
        assert!(!h.secret_matches(&[0; 32]));
        let dbg = format!("{:?}", Frame::RequestHead(h));
        assert!(!dbg.contains("0123456789abcdef") && dbg.contains("<redacted>"), "{dbg}");
        assert!(dbg.contains(r#"script: "/srv/www/café/app.wsgi""#), "{dbg}");
    }

    #[test]
    fn response_head_accessors() {
        let h = response_head();
        assert_eq!(h.status(), 404);
        assert_eq!(h.status_line(), b"404 Not Found");
        assert_eq!(h.headers().iter().filter(|(k, _)| *k == b"Set-Cookie").count(), 2);
        let (s, l, hs) = h.into_parts();
        assert_eq!((s, l.as_slice(), hs.len()), (404, &b"404 Not Found"[..], 3));
    }
}
