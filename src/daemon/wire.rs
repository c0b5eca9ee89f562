//! Daemon-mode wire protocol: a pure codec (std only, no I/O, no Apache, no Python).
//!
//! One Unix stream connection between an Apache child and a daemon process carries requests one
//! after another (keep-alive). Every frame is `kind: u8`, `len: u32 LE`, then `len` payload
//! bytes; all integers are little-endian. Kind bytes start at 1 so a zeroed buffer is an error.
//!
//! | kind | byte | direction | payload |
//! |---|---|---|---|
//! | `RequestHead`  | 1  | child → daemon | secret\[32\], u64 request_start_us, u64 queue_start_us, u32 flags, environ list |
//! | `BodyRequest`  | 2  | daemon → child | u32 credit (> 0): request-body bytes the child may send on |
//! | `Body`         | 3  | both           | raw bytes (never empty) |
//! | `BodyEnd`      | 4  | child → daemon | none: the request body is complete |
//! | `ResponseHead` | 5  | daemon → child | u16 status, u32 len + status line, header list |
//! | `SendFile`     | 6  | daemon → child | u64 offset, u64 length (the fd goes alongside by SCM_RIGHTS) |
//! | `Flush`        | 7  | daemon → child | none |
//! | `End`          | 8  | daemon → child | u8 outcome: 0 complete, 1 aborted, 2 failed |
//! | `Rejected`     | 9  | daemon → child | u8 reason: 0 restarting, 1 queue timeout |
//! | `Ping`/`Pong`  | 10/11 | either      | none |
//! | `BodyFailed`   | 12 | child → daemon | u8 why: 0 client closed, 1 timed out, 2 refused by Apache (malformed), 3 other: the body ends here, incomplete |
//!
//! A list (environ, headers) is `u32 count` then per entry `u32 key_len, key, u32 value_len,
//! value`; bytes are not UTF-8-checked, keys must be non-empty.
//!
//! A request: the child sends `RequestHead`; the daemon answers either `Rejected` (no request
//! was started) or runs the app. The request body flows on credit: nothing is read from the
//! client until the app first reads; then each `BodyRequest` lets the child send that many
//! more bytes, in `Body` frames as they arrive from the client, and one `BodyEnd` once the body
//! is complete (credit granted after that is unused). The daemon keeps at most a socket buffer's
//! worth of credit outstanding, so body bytes the app never reads cannot block the child. The
//! response is `ResponseHead`, then any of `Body`/`SendFile`/`Flush`, then `End`. Which frame
//! may come when is the caller's state machine, not this codec's. A receiver may take a
//! `Body` payload in pieces as it arrives ([`Decoder::next_piece`]).
//!
//! The decoder never panics on input and never holds more than one frame's limit (plus what
//! the caller feeds it at once): the length is checked against [`Limits`] from the 5-byte
//! header, before any payload is buffered, and nothing is allocated for bytes not yet received.

#![forbid(unsafe_code)]

use std::fmt;
use std::num::NonZeroU32;

pub use crate::wsgi::transport::BodyFailure;

/// Bytes of the frame header: kind + length.
pub const HEADER_LEN: usize = 5;
/// Bytes of the shared secret proving the peer is our Apache.
pub const SECRET_LEN: usize = 32;
/// Default largest head payload (`RequestHead`, `ResponseHead`).
pub const DEFAULT_MAX_HEAD: u32 = 16 << 20;
/// Default largest `Body` payload; also the size [`encode_body`] splits bodies into, so an
/// encoder's output is always accepted by a decoder with default limits.
pub const BODY_CHUNK: u32 = 1 << 20;

/// Fixed part of a `RequestHead` payload before the environ list.
const REQUEST_FIXED: usize = SECRET_LEN + 8 + 8 + 4;
/// Cap on a list's entry bytes, and on a status line: two of them plus the fixed fields still
/// fit the u32 length field, so [`encode`] can be infallible.
const MAX_LIST_BYTES: usize = (u32::MAX as usize) / 2 - 64;

/// What a decoder accepts; anything larger is a protocol error before it is buffered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest `RequestHead`/`ResponseHead` payload.
    pub max_head: u32,
    /// Largest `Body` payload.
    pub max_body: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_head: DEFAULT_MAX_HEAD, max_body: BODY_CHUNK }
    }
}

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
    fn fixed_len(self) -> Option<u32> {
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
}

impl RequestFlags {
    pub const SCRIPT_RELOADING: u32 = 1 << 0;
    pub const ENABLE_SENDFILE: u32 = 1 << 1;
    pub const IGNORE_ACTIVITY: u32 = 1 << 2;
    pub const HEAD_REQUEST: u32 = 1 << 3;
    const ALL: u32 = 0b1111;

    pub fn to_bits(self) -> u32 {
        [
            (self.script_reloading, Self::SCRIPT_RELOADING),
            (self.enable_sendfile, Self::ENABLE_SENDFILE),
            (self.ignore_activity, Self::IGNORE_ACTIVITY),
            (self.head_request, Self::HEAD_REQUEST),
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
        })
    }
}

/// A list of byte-string pairs (the environ of a `RequestHead`, the headers of a
/// `ResponseHead`) kept in its wire form.
///
/// Why: the environ is the hot path (dozens of entries per request). Storing the entries as one
/// buffer of `key_len, key, value_len, value` records costs one allocation per list instead of
/// two per entry, makes encoding a single copy, and decoding a validation pass plus a single
/// copy. Readers iterate borrowed `(&[u8], &[u8])` slices (the daemon builds Python strings
/// straight from them); lookups are linear, which is fine for tens of entries. A child can
/// reuse one `Pairs` across keep-alive requests with [`Pairs::clear`].
///
/// Invariant (kept by `push` and decoding): every key is non-empty and the encoding is at most
/// `MAX_LIST_BYTES`, so equal lists have equal buffers and derived equality is exact.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Pairs {
    count: u32,
    /// Encoded entries, without the leading count.
    buf: Vec<u8>,
}

/// Names used in error messages for one list's fields.
struct ListNames {
    count: &'static str,
    key_len: &'static str,
    key: &'static str,
    value_len: &'static str,
    value: &'static str,
}

const ENVIRON: ListNames = ListNames {
    count: "environ count",
    key_len: "environ key length",
    key: "environ key",
    value_len: "environ value length",
    value: "environ value",
};

const HEADERS: ListNames = ListNames {
    count: "header count",
    key_len: "header name length",
    key: "header name",
    value_len: "header value length",
    value: "header value",
};

impl Pairs {
    pub fn new() -> Self {
        Pairs::default()
    }

    /// `bytes`: the expected total of key and value bytes (each entry adds 8 more).
    pub fn with_capacity(entries: usize, bytes: usize) -> Self {
        Pairs { count: 0, buf: Vec::with_capacity(bytes.saturating_add(entries.saturating_mul(8))) }
    }

    /// Empties the list, keeping its buffer for the next request.
    pub fn clear(&mut self) {
        self.count = 0;
        self.buf.clear();
    }

    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes this list takes on the wire, count included.
    pub fn encoded_len(&self) -> usize {
        4 + self.buf.len()
    }

    /// Appends an entry. Errors on an empty key (not representable on the wire) or if the list
    /// would outgrow what a frame can carry.
    pub fn push(&mut self, key: &[u8], value: &[u8]) -> Result<(), WireError> {
        if key.is_empty() {
            return Err(WireError::EmptyKey { kind: None, field: "key", entry: self.count });
        }
        let add = 8usize.saturating_add(key.len()).saturating_add(value.len());
        if self.buf.len().saturating_add(add) > MAX_LIST_BYTES {
            return Err(WireError::TooLargeToEncode {
                what: "list",
                len: self.buf.len().saturating_add(add),
            });
        }
        self.buf.reserve(add);
        self.buf.extend_from_slice(&(key.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(key);
        self.buf.extend_from_slice(&(value.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(value);
        self.count += 1;
        Ok(())
    }

    /// Builds a list from pairs; see [`Pairs::push`].
    pub fn from_pairs<K, V, I>(pairs: I) -> Result<Self, WireError>
    where
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
        I: IntoIterator<Item = (K, V)>,
    {
        let mut list = Pairs::new();
        for (k, v) in pairs {
            list.push(k.as_ref(), v.as_ref())?;
        }
        Ok(list)
    }

    pub fn iter(&self) -> PairsIter<'_> {
        PairsIter { rest: &self.buf, left: self.count }
    }

    /// The value of the first entry with this key.
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Appends the wire form (count, then entries) to `out`: one copy.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&self.buf);
    }

    /// Decodes an environ list from the start of `bytes`; returns it and the bytes it took.
    /// Errors are reported as in a `RequestHead` frame, at offsets relative to `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<(Pairs, usize), WireError> {
        let mut r = Reader { kind: Kind::RequestHead, buf: bytes, pos: 0 };
        let list = Pairs::read(&mut r, &ENVIRON)?;
        Ok((list, r.pos))
    }

    /// Validates the list in place, then copies its entries in one go.
    fn read(r: &mut Reader<'_>, names: &ListNames) -> Result<Pairs, WireError> {
        let count = r.u32(names.count, None)?;
        // Each entry takes at least its two lengths: a count the payload cannot hold is caught
        // before the loop, so a hostile count costs nothing.
        let fits = r.remaining() / 8;
        if count as usize > fits {
            return Err(WireError::CountTooLarge { kind: r.kind, field: names.count, count, fits });
        }
        let start = r.pos;
        for entry in 0..count {
            let klen = r.u32(names.key_len, Some(entry))?;
            let key = r.take(klen as usize, names.key, Some(entry))?;
            if key.is_empty() {
                return Err(WireError::EmptyKey { kind: Some(r.kind), field: names.key, entry });
            }
            let vlen = r.u32(names.value_len, Some(entry))?;
            r.take(vlen as usize, names.value, Some(entry))?;
        }
        let buf = &r.buf[start..r.pos];
        if buf.len() > MAX_LIST_BYTES {
            return Err(WireError::TooLargeToEncode { what: "list", len: buf.len() });
        }
        Ok(Pairs { count, buf: buf.to_vec() })
    }
}

impl fmt::Debug for Pairs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter().map(|(k, v)| (Bytes(k), Bytes(v)))).finish()
    }
}

impl<'a> IntoIterator for &'a Pairs {
    type Item = (&'a [u8], &'a [u8]);
    type IntoIter = PairsIter<'a>;
    fn into_iter(self) -> PairsIter<'a> {
        self.iter()
    }
}

/// Borrowed entries of a [`Pairs`], in order.
#[derive(Clone)]
pub struct PairsIter<'a> {
    rest: &'a [u8],
    left: u32,
}

impl<'a> Iterator for PairsIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        // The buffer was validated when built; `?` just keeps this panic-free regardless.
        if self.left == 0 {
            return None;
        }
        let (key, rest) = split_record(self.rest)?;
        let (value, rest) = split_record(rest)?;
        self.rest = rest;
        self.left -= 1;
        Some((key, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

impl ExactSizeIterator for PairsIter<'_> {}

fn split_record(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = b.split_first_chunk::<4>()?;
    let len = u32::from_le_bytes(*len) as usize;
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// Debug-prints bytes as an escaped byte string.
struct Bytes<'a>(&'a [u8]);

impl fmt::Debug for Bytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

/// The head of a request, as computed by the Apache child.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestHead {
    pub secret: [u8; SECRET_LEN],
    /// When Apache started the request (µs since the epoch).
    pub request_start_us: u64,
    /// When the child started waiting for the daemon (µs since the epoch).
    pub queue_start_us: u64,
    pub flags: RequestFlags,
    /// The environ entries, already computed by the child (the daemon does not re-derive).
    pub environ: Pairs,
}

impl RequestHead {
    /// Compares the secret in constant time, so a probing peer learns nothing from timing.
    pub fn secret_matches(&self, expected: &[u8; SECRET_LEN]) -> bool {
        let diff = self.secret.iter().zip(expected).fold(0u8, |d, (a, b)| d | (a ^ b));
        std::hint::black_box(diff) == 0
    }

    fn payload_len(&self) -> usize {
        REQUEST_FIXED + self.environ.encoded_len()
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
            .field("environ", &self.environ)
            .finish()
    }
}

/// The status and headers of a response. Fields are private so that every value fits a frame
/// (checked by [`ResponseHead::new`]), which keeps [`encode`] infallible.
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

    fn payload_len(&self) -> usize {
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
    /// Body bytes. [`encode`] writes nothing for an empty one (an app may `write(b"")`) and
    /// splits one longer than [`BODY_CHUNK`].
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

/// A protocol error. The stream cannot be resynchronised after one: close the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WireError {
    /// The kind byte is not one of ours.
    UnknownKind { byte: u8 },
    /// A head or body frame longer than the configured limit.
    FrameTooLarge { kind: Kind, len: u32, max: u32 },
    /// A fixed-size frame whose length is not its size.
    BadLength { kind: Kind, len: u32, expected: u32 },
    /// A `Body` frame with no payload (the end is `BodyEnd`/`End`).
    EmptyBody,
    /// A field runs past the end of its frame's payload.
    Truncated {
        kind: Kind,
        field: &'static str,
        entry: Option<u32>,
        offset: usize,
        need: usize,
        have: usize,
    },
    /// Bytes left in the payload after the last field.
    TrailingBytes { kind: Kind, extra: usize },
    /// A list claims more entries than its payload could hold.
    CountTooLarge { kind: Kind, field: &'static str, count: u32, fits: usize },
    /// An empty environ key or header name (`kind` is `None` when building a list).
    EmptyKey { kind: Option<Kind>, field: &'static str, entry: u32 },
    /// An enum or flags field with a value we do not know.
    BadValue { kind: Kind, field: &'static str, value: u32 },
    /// The stream ended inside a frame (`kind` is `None` inside the header).
    UnexpectedEof { kind: Option<Kind>, have: usize, need: usize },
    /// A value built locally that no frame could carry.
    TooLargeToEncode { what: &'static str, len: usize },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::UnknownKind { byte } => write!(f, "unknown frame kind byte 0x{byte:02x}"),
            WireError::FrameTooLarge { kind, len, max } => {
                write!(f, "{kind} frame length {len} exceeds the limit of {max} bytes")
            }
            WireError::BadLength { kind, len, expected } => {
                write!(f, "{kind} frame has payload length {len}, expected {expected}")
            }
            WireError::EmptyBody => {
                f.write_str("empty Body frame (body end is signalled separately)")
            }
            WireError::Truncated { kind, field, entry, offset, need, have } => {
                write!(f, "{kind} frame truncated in field `{field}`")?;
                if let Some(i) = entry {
                    write!(f, " of entry {i}")?;
                }
                write!(f, ": needs {need} bytes at payload offset {offset}, only {have} left")
            }
            WireError::TrailingBytes { kind, extra } => {
                write!(f, "{kind} frame has {extra} trailing bytes after its last field")
            }
            WireError::CountTooLarge { kind, field, count, fits } => {
                write!(
                    f,
                    "{kind} frame: `{field}` is {count} but the rest of the payload holds at most {fits} entries"
                )
            }
            WireError::EmptyKey { kind, field, entry } => {
                if let Some(kind) = kind {
                    write!(f, "{kind} frame: ")?;
                }
                write!(f, "empty `{field}` in entry {entry}")
            }
            WireError::BadValue { kind, field, value } => {
                write!(f, "{kind} frame: invalid `{field}` value {value} (0x{value:x})")
            }
            WireError::UnexpectedEof { kind: None, have, need } => {
                write!(f, "stream ended inside a frame header ({have} of {need} bytes)")
            }
            WireError::UnexpectedEof { kind: Some(kind), have, need } => {
                write!(f, "stream ended inside a {kind} frame ({have} of {need} bytes)")
            }
            WireError::TooLargeToEncode { what, len } => {
                write!(f, "{what} of {len} bytes is too large for a frame")
            }
        }
    }
}

impl std::error::Error for WireError {}

// ---------------------------------------------------------------------------------------------
// Encoding

/// Appends the frame's wire form to `out`. Infallible: every `Frame` value fits (see
/// [`Pairs::push`], [`ResponseHead::new`], [`Frame::Body`]).
pub fn encode(frame: &Frame, out: &mut Vec<u8>) {
    match frame {
        Frame::RequestHead(h) => {
            put_header(out, Kind::RequestHead, h.payload_len());
            out.extend_from_slice(&h.secret);
            out.extend_from_slice(&h.request_start_us.to_le_bytes());
            out.extend_from_slice(&h.queue_start_us.to_le_bytes());
            out.extend_from_slice(&h.flags.to_bits().to_le_bytes());
            h.environ.encode_into(out);
        }
        Frame::BodyRequest { max } => {
            put_header(out, Kind::BodyRequest, 4);
            out.extend_from_slice(&max.get().to_le_bytes());
        }
        Frame::Body(data) => encode_body(data, out),
        Frame::ResponseHead(h) => {
            put_header(out, Kind::ResponseHead, h.payload_len());
            out.extend_from_slice(&h.status.to_le_bytes());
            out.extend_from_slice(&(h.status_line.len() as u32).to_le_bytes());
            out.extend_from_slice(&h.status_line);
            h.headers.encode_into(out);
        }
        Frame::SendFile { offset, length } => {
            put_header(out, Kind::SendFile, 16);
            out.extend_from_slice(&offset.to_le_bytes());
            out.extend_from_slice(&length.to_le_bytes());
        }
        Frame::End(outcome) => {
            put_header(out, Kind::End, 1);
            out.push(*outcome as u8);
        }
        Frame::Rejected(reason) => {
            put_header(out, Kind::Rejected, 1);
            out.push(*reason as u8);
        }
        Frame::BodyFailed(why) => {
            put_header(out, Kind::BodyFailed, 1);
            out.push(*why as u8);
        }
        Frame::BodyEnd | Frame::Flush | Frame::Ping | Frame::Pong => {
            put_header(out, frame.kind(), 0)
        }
    }
}

/// Appends `data` as `Body` frames of at most [`BODY_CHUNK`] bytes, straight from a borrowed
/// slice (no `Frame` needed on the response hot path). Empty data writes nothing.
pub fn encode_body(data: &[u8], out: &mut Vec<u8>) {
    out.reserve(data.len() + data.len().div_ceil(BODY_CHUNK as usize) * HEADER_LEN);
    for chunk in data.chunks(BODY_CHUNK as usize) {
        put_header(out, Kind::Body, chunk.len());
        out.extend_from_slice(chunk);
    }
}

/// The header of a `Body` frame of `len` bytes (1..=[`BODY_CHUNK`]), for writers that send the
/// payload from where it lies (vectored I/O) instead of copying it behind the header.
pub fn body_header(len: usize) -> [u8; HEADER_LEN] {
    assert!(len > 0 && len <= BODY_CHUNK as usize, "Body frame length out of range");
    let l = (len as u32).to_le_bytes();
    [Kind::Body as u8, l[0], l[1], l[2], l[3]]
}

fn put_header(out: &mut Vec<u8>, kind: Kind, len: usize) {
    // Every caller's payload is bounded below u32::MAX by construction (see MAX_LIST_BYTES).
    debug_assert!(u32::try_from(len).is_ok());
    out.reserve(HEADER_LEN + len);
    out.push(kind as u8);
    out.extend_from_slice(&(len as u32).to_le_bytes());
}

// ---------------------------------------------------------------------------------------------
// Decoding

/// Incremental decoder for one connection: feed bytes as they arrive, take frames out.
///
/// Memory is bounded by the largest frame the [`Limits`] allow plus the bytes of one `feed`,
/// provided the caller drains frames between feeds. After an error the decoder keeps returning
/// that error: the stream is desynchronised and the connection must be closed.
#[derive(Debug)]
pub struct Decoder {
    limits: Limits,
    buf: Vec<u8>,
    /// Start of the first unconsumed byte in `buf`.
    pos: usize,
    /// Payload bytes of the `Body` frame [`Decoder::next_piece`] is handing out, still to come.
    body_left: u32,
    failed: Option<WireError>,
}

/// What [`Decoder::next_piece`] yields: whole frames, except `Body` payloads, which come in
/// pieces as they arrive so a large body is never held whole.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    Frame(Frame),
    Body(&'a [u8]),
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    pub fn new() -> Self {
        Decoder::with_limits(Limits::default())
    }

    pub fn with_limits(limits: Limits) -> Self {
        Decoder { limits, buf: Vec::new(), pos: 0, body_left: 0, failed: None }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Appends received bytes. Ignored after an error (nothing more will be decoded).
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        // Drop consumed bytes once they are at least half the buffer: each byte is moved at
        // most a constant number of times, however the stream is split.
        if self.pos > 0 && self.pos >= self.buf.len() - self.pos {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes fed but not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next complete frame; `Ok(None)` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, WireError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        assert!(self.body_left == 0, "next_frame inside a Body frame given out by next_piece");
        match self.decode_next() {
            Ok(frame) => Ok(frame),
            Err(e) => {
                self.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Like [`Decoder::next_frame`], but a `Body` frame's payload comes out as [`Piece::Body`]
    /// slices of at most `max_body` bytes, as soon as they are here. While [`Decoder::body_left`]
    /// is non-zero and nothing is buffered, the caller may read payload bytes straight from the
    /// stream into its own buffer and report them with [`Decoder::body_read_directly`].
    pub fn next_piece(&mut self, max_body: usize) -> Result<Option<Piece<'_>>, WireError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.body_left == 0 {
            match self.header() {
                Ok(Some((Kind::Body, len))) => {
                    self.pos += HEADER_LEN;
                    self.body_left = len;
                }
                Ok(_) => return self.next_frame().map(|f| f.map(Piece::Frame)),
                Err(e) => {
                    self.failed = Some(e.clone());
                    return Err(e);
                }
            }
        }
        let n = self.buffered().min(self.body_left as usize).min(max_body.max(1));
        if n == 0 {
            return Ok(None);
        }
        let start = self.pos;
        self.pos += n;
        self.body_left -= n as u32;
        Ok(Some(Piece::Body(&self.buf[start..start + n])))
    }

    /// Payload bytes of the current `Body` frame not yet handed out or read directly.
    pub fn body_left(&self) -> usize {
        self.body_left as usize
    }

    /// The caller read `n` payload bytes of the current `Body` frame straight from the stream
    /// (only allowed while nothing is buffered).
    pub fn body_read_directly(&mut self, n: usize) {
        assert!(self.buffered() == 0 && n <= self.body_left as usize, "body bytes read past the frame");
        self.body_left -= n as u32;
    }

    /// Call at end of stream: `Ok` if it ended between frames, else what was cut off. A peer
    /// closing between requests is normal keep-alive; inside a frame it is an error.
    pub fn finish(&self) -> Result<(), WireError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.body_left > 0 {
            return Err(WireError::UnexpectedEof {
                kind: Some(Kind::Body),
                have: self.buffered(),
                need: self.body_left as usize,
            });
        }
        let have = self.buffered();
        if have == 0 {
            return Ok(());
        }
        match self.header()? {
            None => Err(WireError::UnexpectedEof { kind: None, have, need: HEADER_LEN }),
            Some((kind, len)) => Err(WireError::UnexpectedEof {
                kind: Some(kind),
                have,
                need: HEADER_LEN + len as usize,
            }),
        }
    }

    /// The validated header of the next frame, if all 5 bytes are here. Every length check
    /// happens here, before the payload is waited for.
    fn header(&self) -> Result<Option<(Kind, u32)>, WireError> {
        let Some((&[byte, l0, l1, l2, l3], _)) =
            self.buf[self.pos..].split_first_chunk::<HEADER_LEN>()
        else {
            return Ok(None);
        };
        let kind = Kind::from_byte(byte).ok_or(WireError::UnknownKind { byte })?;
        let len = u32::from_le_bytes([l0, l1, l2, l3]);
        if let Some(expected) = kind.fixed_len() {
            if len != expected {
                return Err(WireError::BadLength { kind, len, expected });
            }
        } else {
            let max = if kind == Kind::Body { self.limits.max_body } else { self.limits.max_head };
            if len > max {
                return Err(WireError::FrameTooLarge { kind, len, max });
            }
            if kind == Kind::Body && len == 0 {
                return Err(WireError::EmptyBody);
            }
        }
        Ok(Some((kind, len)))
    }

    fn decode_next(&mut self) -> Result<Option<Frame>, WireError> {
        let Some((kind, len)) = self.header()? else {
            return Ok(None);
        };
        let total = HEADER_LEN + len as usize;
        let have = self.buffered();
        if have < total {
            // No reserve for the announced length: memory follows the bytes actually received,
            // so an unauthenticated peer cannot make us allocate by claiming a large frame.
            return Ok(None);
        }
        let start = self.pos + HEADER_LEN;
        let frame = parse_payload(kind, &self.buf[start..start + len as usize])?;
        self.pos += total;
        if self.pos == self.buf.len() {
            // Common case on a request/response exchange: nothing left, reuse from the start.
            self.buf.clear();
            self.pos = 0;
        }
        Ok(Some(frame))
    }
}

/// A cursor over one payload, naming the frame and field in its errors.
struct Reader<'a> {
    kind: Kind,
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(
        &mut self,
        n: usize,
        field: &'static str,
        entry: Option<u32>,
    ) -> Result<&'a [u8], WireError> {
        let have = self.remaining();
        if n > have {
            return Err(WireError::Truncated {
                kind: self.kind,
                field,
                entry,
                offset: self.pos,
                need: n,
                have,
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(
        &mut self,
        field: &'static str,
        entry: Option<u32>,
    ) -> Result<[u8; N], WireError> {
        let s = self.take(N, field, entry)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, WireError> {
        Ok(self.array::<1>(field, None)?[0])
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, WireError> {
        Ok(u16::from_le_bytes(self.array(field, None)?))
    }

    fn u32(&mut self, field: &'static str, entry: Option<u32>) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(self.array(field, entry)?))
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, WireError> {
        Ok(u64::from_le_bytes(self.array(field, None)?))
    }

    fn end(self) -> Result<(), WireError> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(WireError::TrailingBytes { kind: self.kind, extra }),
        }
    }
}

/// Parses a payload whose length the header check already accepted.
fn parse_payload(kind: Kind, payload: &[u8]) -> Result<Frame, WireError> {
    let mut r = Reader { kind, buf: payload, pos: 0 };
    let frame = match kind {
        Kind::RequestHead => {
            let secret = r.array::<SECRET_LEN>("secret", None)?;
            let request_start_us = r.u64("request_start_us")?;
            let queue_start_us = r.u64("queue_start_us")?;
            let bits = r.u32("flags", None)?;
            let flags = RequestFlags::from_bits(bits).ok_or(WireError::BadValue {
                kind,
                field: "flags",
                value: bits,
            })?;
            let environ = Pairs::read(&mut r, &ENVIRON)?;
            Frame::RequestHead(RequestHead {
                secret,
                request_start_us,
                queue_start_us,
                flags,
                environ,
            })
        }
        Kind::BodyRequest => {
            let value = r.u32("max", None)?;
            let max =
                NonZeroU32::new(value).ok_or(WireError::BadValue { kind, field: "max", value })?;
            Frame::BodyRequest { max }
        }
        // Non-empty and within the limit: checked from the header.
        Kind::Body => Frame::Body(r.take(payload.len(), "body", None)?.to_vec()),
        Kind::ResponseHead => {
            let status = r.u16("status")?;
            let line_len = r.u32("status line length", None)?;
            let status_line = r.take(line_len as usize, "status line", None)?.to_vec();
            let headers = Pairs::read(&mut r, &HEADERS)?;
            Frame::ResponseHead(ResponseHead::new(status, status_line, headers)?)
        }
        Kind::SendFile => Frame::SendFile { offset: r.u64("offset")?, length: r.u64("length")? },
        Kind::End => {
            let b = r.u8("outcome")?;
            Frame::End(Outcome::from_byte(b).ok_or(WireError::BadValue {
                kind,
                field: "outcome",
                value: b.into(),
            })?)
        }
        Kind::Rejected => {
            let b = r.u8("reason")?;
            Frame::Rejected(RejectReason::from_byte(b).ok_or(WireError::BadValue {
                kind,
                field: "reason",
                value: b.into(),
            })?)
        }
        Kind::BodyFailed => {
            let b = r.u8("why")?;
            Frame::BodyFailed(BodyFailure::from_byte(b).ok_or(WireError::BadValue { kind, field: "why", value: b.into() })?)
        }
        Kind::BodyEnd => Frame::BodyEnd,
        Kind::Flush => Frame::Flush,
        Kind::Ping => Frame::Ping,
        Kind::Pong => Frame::Pong,
    };
    r.end()?;
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    fn environ() -> Pairs {
        Pairs::from_pairs([
            (&b"REQUEST_METHOD"[..], &b"GET"[..]),
            (b"PATH_INFO", b"/a b/\xff\x00"),
            (b"HTTP_X_EMPTY", b""),
            (b"wsgi.url_scheme", b"https"),
        ])
        .unwrap()
    }

    fn request_head() -> RequestHead {
        RequestHead {
            secret: *b"0123456789abcdef0123456789ABCDEF",
            request_start_us: 1_700_000_000_123_456,
            queue_start_us: u64::MAX,
            flags: RequestFlags {
                script_reloading: true,
                enable_sendfile: false,
                ignore_activity: true,
                head_request: true,
            },
            environ: environ(),
        }
    }

    fn response_head() -> ResponseHead {
        let headers = Pairs::from_pairs([
            ("Content-Type", "text/plain"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
        ])
        .unwrap();
        ResponseHead::new(404, &b"404 Not Found"[..], headers).unwrap()
    }

    /// At least one of every kind, with edge values.
    fn samples() -> Vec<Frame> {
        vec![
            Frame::RequestHead(request_head()),
            Frame::RequestHead(RequestHead {
                secret: [0; 32],
                request_start_us: 0,
                queue_start_us: 0,
                flags: RequestFlags::default(),
                environ: Pairs::new(),
            }),
            Frame::BodyRequest { max: nz(65536) },
            Frame::BodyRequest { max: nz(u32::MAX) },
            Frame::Body(b"hello".to_vec()),
            Frame::Body(vec![0xff; 1]),
            Frame::BodyEnd,
            Frame::ResponseHead(response_head()),
            Frame::ResponseHead(ResponseHead::new(200, Vec::new(), Pairs::new()).unwrap()),
            Frame::SendFile { offset: 0, length: u64::MAX },
            Frame::SendFile { offset: 1 << 40, length: 12345 },
            Frame::Flush,
            Frame::End(Outcome::Complete),
            Frame::End(Outcome::Aborted),
            Frame::End(Outcome::Failed),
            Frame::End(Outcome::NotFound),
            Frame::BodyFailed(BodyFailure::ClientClosed),
            Frame::BodyFailed(BodyFailure::Refused),
            Frame::Rejected(RejectReason::Restarting),
            Frame::Rejected(RejectReason::QueueTimeout),
            Frame::Ping,
            Frame::Pong,
        ]
    }

    fn encode_all(frames: &[Frame]) -> Vec<u8> {
        let mut out = Vec::new();
        for f in frames {
            encode(f, &mut out);
        }
        out
    }

    /// Drains every frame; stops at the first error.
    fn drain(d: &mut Decoder, into: &mut Vec<Frame>) -> Result<(), WireError> {
        while let Some(f) = d.next_frame()? {
            into.push(f);
        }
        Ok(())
    }

    fn decode_all(bytes: &[u8]) -> Result<Vec<Frame>, WireError> {
        let mut d = Decoder::new();
        d.feed(bytes);
        let mut frames = Vec::new();
        drain(&mut d, &mut frames)?;
        d.finish()?;
        Ok(frames)
    }

    /// The first error a complete stream gives.
    fn decode_err(bytes: &[u8]) -> WireError {
        decode_all(bytes).expect_err("expected a protocol error")
    }

    fn frame_bytes(kind: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![kind];
        v.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn round_trip_every_kind() {
        let all = samples();
        let kinds: std::collections::HashSet<Kind> = all.iter().map(Frame::kind).collect();
        assert_eq!(kinds.len(), 12, "samples cover every kind");
        for f in &all {
            let bytes = encode_all(std::slice::from_ref(f));
            assert_eq!(bytes[0], f.kind() as u8);
            assert_eq!(
                bytes.len() - HEADER_LEN,
                u32::from_le_bytes(bytes[1..5].try_into().unwrap()) as usize
            );
            assert_eq!(decode_all(&bytes).unwrap(), vec![f.clone()], "{f:?}");
        }
    }

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
    fn wire_layout_is_exact() {
        // Pins the format: the Apache child and the daemon must agree byte for byte.
        assert_eq!(
            encode_all(&[Frame::BodyRequest { max: nz(0x01020304) }]),
            [2, 4, 0, 0, 0, 4, 3, 2, 1]
        );
        assert_eq!(encode_all(&[Frame::End(Outcome::Aborted)]), [8, 1, 0, 0, 0, 1]);
        assert_eq!(encode_all(&[Frame::Rejected(RejectReason::QueueTimeout)]), [9, 1, 0, 0, 0, 1]);
        assert_eq!(encode_all(&[Frame::Flush, Frame::Ping]), [7, 0, 0, 0, 0, 10, 0, 0, 0, 0]);
        assert_eq!(encode_all(&[Frame::Body(b"ab".to_vec())]), [3, 2, 0, 0, 0, b'a', b'b']);

        let rh = encode_all(&[Frame::ResponseHead(
            ResponseHead::new(200, &b"200 OK"[..], Pairs::from_pairs([("A", "bc")]).unwrap())
                .unwrap(),
        )]);
        let mut expect = vec![5, 27, 0, 0, 0, 200, 0, 6, 0, 0, 0];
        expect.extend_from_slice(b"200 OK");
        expect.extend_from_slice(&[1, 0, 0, 0, 1, 0, 0, 0, b'A', 2, 0, 0, 0, b'b', b'c']);
        assert_eq!(rh, expect);

        let req = encode_all(&[Frame::RequestHead(request_head())]);
        assert_eq!(req[0], 1);
        assert_eq!(&req[5..37], b"0123456789abcdef0123456789ABCDEF");
        assert_eq!(&req[37..45], &1_700_000_000_123_456u64.to_le_bytes());
        assert_eq!(&req[45..53], &[0xff; 8]);
        assert_eq!(&req[53..57], &0b1101u32.to_le_bytes());
        assert_eq!(&req[57..61], &4u32.to_le_bytes());
        assert_eq!(&req[61..65], &14u32.to_le_bytes());
        assert_eq!(&req[65..79], b"REQUEST_METHOD");
    }

    #[test]
    fn flags_round_trip_and_unknown_bits_rejected() {
        for bits in 0..16u32 {
            assert_eq!(RequestFlags::from_bits(bits).unwrap().to_bits(), bits);
        }
        assert_eq!(RequestFlags::from_bits(16), None);
        assert_eq!(RequestFlags::from_bits(1 << 31), None);
    }

    #[test]
    fn multi_frame_stream_split_at_every_byte() {
        let frames = samples();
        let bytes = encode_all(&frames);
        // One byte at a time: every frame boundary and every field boundary is a split point.
        let mut d = Decoder::new();
        let mut got = Vec::new();
        for b in &bytes {
            d.feed(std::slice::from_ref(b));
            drain(&mut d, &mut got).unwrap();
        }
        d.finish().unwrap();
        assert_eq!(got, frames);
        assert_eq!(d.buffered(), 0);
        // Two pieces, split at every position.
        for cut in 0..=bytes.len() {
            let mut d = Decoder::new();
            let mut got = Vec::new();
            d.feed(&bytes[..cut]);
            drain(&mut d, &mut got).unwrap();
            d.feed(&bytes[cut..]);
            drain(&mut d, &mut got).unwrap();
            d.finish().unwrap();
            assert_eq!(got, frames, "cut at {cut}");
        }
    }

    #[test]
    fn partial_frame_waits_for_more() {
        let bytes = encode_all(&[Frame::RequestHead(request_head())]);
        let mut d = Decoder::new();
        d.feed(&bytes[..bytes.len() - 1]);
        assert_eq!(d.next_frame(), Ok(None));
        assert_eq!(d.buffered(), bytes.len() - 1);
        assert_eq!(
            d.finish(),
            Err(WireError::UnexpectedEof {
                kind: Some(Kind::RequestHead),
                have: bytes.len() - 1,
                need: bytes.len()
            })
        );
        d.feed(&bytes[bytes.len() - 1..]);
        assert!(matches!(d.next_frame(), Ok(Some(Frame::RequestHead(_)))));
        assert_eq!(d.next_frame(), Ok(None));
        assert_eq!(d.finish(), Ok(()));

        let mut d = Decoder::new();
        d.feed(&[3, 1]);
        assert_eq!(d.next_frame(), Ok(None));
        assert_eq!(d.finish(), Err(WireError::UnexpectedEof { kind: None, have: 2, need: 5 }));
    }

    #[test]
    fn unknown_kind_is_an_error() {
        for byte in [0u8, 13, 0x7f, 0xff] {
            let e = decode_err(&frame_bytes(byte, &[]));
            assert_eq!(e, WireError::UnknownKind { byte });
            assert!(e.to_string().contains(&format!("0x{byte:02x}")), "{e}");
        }
        // Detected from the kind byte alone, before the length is complete.
        let mut d = Decoder::new();
        d.feed(&[0x42, 0, 0, 0, 0]);
        assert_eq!(d.next_frame(), Err(WireError::UnknownKind { byte: 0x42 }));
    }

    #[test]
    fn errors_are_sticky() {
        let mut d = Decoder::new();
        d.feed(&[0xee, 0, 0, 0, 0]);
        let e = d.next_frame().unwrap_err();
        d.feed(&encode_all(&[Frame::Ping]));
        assert_eq!(d.next_frame(), Err(e.clone()));
        assert_eq!(d.finish(), Err(e));
    }

    #[test]
    fn oversize_length_is_rejected_from_the_header_alone() {
        let limits = Limits { max_head: 100, max_body: 10 };
        for (kind, len, max) in [
            (Kind::RequestHead, 101, 100),
            (Kind::ResponseHead, u32::MAX, 100),
            (Kind::Body, 11, 10),
        ] {
            let mut d = Decoder::with_limits(limits);
            let mut header = vec![kind as u8];
            header.extend_from_slice(&len.to_le_bytes());
            d.feed(&header);
            let e = d.next_frame().unwrap_err();
            assert_eq!(e, WireError::FrameTooLarge { kind, len, max });
            let msg = e.to_string();
            assert!(
                msg.contains(kind.name())
                    && msg.contains(&len.to_string())
                    && msg.contains(&max.to_string()),
                "{msg}"
            );
            // No room was reserved for the claimed payload.
            assert!(d.buf.capacity() < 1024);
        }
        // A large but allowed length allocates nothing until the bytes arrive.
        let mut d = Decoder::new();
        d.feed(&[Kind::RequestHead as u8, 0, 0, 0, 1]);
        assert_eq!(d.next_frame(), Ok(None));
        assert!(d.buf.capacity() < 1024);
        // Exactly at the limit is fine.
        let mut d = Decoder::with_limits(limits);
        d.feed(&frame_bytes(3, &[7; 10]));
        assert_eq!(d.next_frame(), Ok(Some(Frame::Body(vec![7; 10]))));
        // Defaults: 16 MiB heads, 1 MiB bodies.
        assert_eq!(Limits::default(), Limits { max_head: 16 << 20, max_body: 1 << 20 });
        let mut d = Decoder::new();
        d.feed(&[3, 1, 0, 0x10, 0]);
        assert_eq!(
            d.next_frame(),
            Err(WireError::FrameTooLarge { kind: Kind::Body, len: (1 << 20) + 1, max: 1 << 20 })
        );
    }

    #[test]
    fn fixed_size_frames_need_their_exact_length() {
        for (kind, expected) in [
            (Kind::BodyEnd, 0),
            (Kind::Flush, 0),
            (Kind::Ping, 0),
            (Kind::Pong, 0),
            (Kind::End, 1),
            (Kind::Rejected, 1),
            (Kind::BodyRequest, 4),
            (Kind::SendFile, 16),
        ] {
            for len in [expected + 1, u32::MAX] {
                let mut d = Decoder::new();
                d.feed(&[kind as u8]);
                d.feed(&len.to_le_bytes());
                let e = d.next_frame().unwrap_err();
                assert_eq!(e, WireError::BadLength { kind, len, expected });
                assert!(
                    e.to_string().contains(&format!(
                        "{kind} frame has payload length {len}, expected {expected}"
                    )),
                    "{e}"
                );
            }
            if expected > 0 {
                let len = expected - 1;
                assert_eq!(
                    decode_err(&frame_bytes(kind as u8, &vec![0; len as usize])),
                    WireError::BadLength { kind, len, expected }
                );
            }
        }
    }

    #[test]
    fn empty_body_is_an_error() {
        let e = decode_err(&frame_bytes(Kind::Body as u8, &[]));
        assert_eq!(e, WireError::EmptyBody);
        assert!(e.to_string().contains("empty Body"));
        // The encoder never produces one.
        assert!(encode_all(&[Frame::Body(Vec::new())]).is_empty());
    }

    #[test]
    fn truncated_fields_inside_complete_frames() {
        // RequestHead shorter than its fixed fields.
        let e = decode_err(&frame_bytes(1, &[0; 10]));
        assert_eq!(
            e,
            WireError::Truncated {
                kind: Kind::RequestHead,
                field: "secret",
                entry: None,
                offset: 0,
                need: 32,
                have: 10
            }
        );
        assert!(e.to_string().contains("RequestHead frame truncated in field `secret`"), "{e}");
        let e = decode_err(&frame_bytes(1, &[0; 50]));
        assert!(
            matches!(e, WireError::Truncated { field: "flags", offset: 48, need: 4, have: 2, .. }),
            "{e:?}"
        );
        let e = decode_err(&frame_bytes(1, &[0; 52]));
        assert!(
            matches!(e, WireError::Truncated { field: "environ count", offset: 52, .. }),
            "{e:?}"
        );

        // Environ value length pointing past the end of the payload.
        let mut p = vec![0u8; REQUEST_FIXED];
        p.extend_from_slice(&2u32.to_le_bytes()); // count
        p.extend_from_slice(&1u32.to_le_bytes());
        p.push(b'A');
        p.extend_from_slice(&0u32.to_le_bytes());
        p.extend_from_slice(&1u32.to_le_bytes());
        p.push(b'B');
        p.extend_from_slice(&1000u32.to_le_bytes());
        p.extend_from_slice(b"xyz");
        let e = decode_err(&frame_bytes(1, &p));
        assert_eq!(
            e,
            WireError::Truncated {
                kind: Kind::RequestHead,
                field: "environ value",
                entry: Some(1),
                offset: p.len() - 3,
                need: 1000,
                have: 3
            }
        );
        let msg = e.to_string();
        assert!(
            msg.contains("`environ value` of entry 1") && msg.contains("needs 1000 bytes"),
            "{msg}"
        );

        // ResponseHead status line longer than the payload.
        let mut p = 200u16.to_le_bytes().to_vec();
        p.extend_from_slice(&50u32.to_le_bytes());
        p.extend_from_slice(b"200 OK");
        let e = decode_err(&frame_bytes(5, &p));
        assert_eq!(
            e,
            WireError::Truncated {
                kind: Kind::ResponseHead,
                field: "status line",
                entry: None,
                offset: 6,
                need: 50,
                have: 6
            }
        );

        // Header name length cut inside the list.
        let mut p = 200u16.to_le_bytes().to_vec();
        p.extend_from_slice(&0u32.to_le_bytes());
        p.extend_from_slice(&1u32.to_le_bytes());
        p.extend_from_slice(&[5, 0, 0, 0, b'a', b'b', b'c', b'd', b'e', 0, 0]);
        let e = decode_err(&frame_bytes(5, &p));
        assert!(
            matches!(
                e,
                WireError::Truncated {
                    field: "header value length",
                    entry: Some(0),
                    need: 4,
                    have: 2,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn count_larger_than_payload() {
        let mut p = vec![0u8; REQUEST_FIXED];
        p.extend_from_slice(&u32::MAX.to_le_bytes());
        p.extend_from_slice(&[1, 0, 0, 0, b'K', 0, 0, 0, 0]); // one real entry: 9 bytes
        let e = decode_err(&frame_bytes(1, &p));
        assert_eq!(
            e,
            WireError::CountTooLarge {
                kind: Kind::RequestHead,
                field: "environ count",
                count: u32::MAX,
                fits: 1
            }
        );
        assert!(e.to_string().contains("`environ count` is 4294967295"), "{e}");

        let mut p = 200u16.to_le_bytes().to_vec();
        p.extend_from_slice(&0u32.to_le_bytes());
        p.extend_from_slice(&3u32.to_le_bytes());
        let e = decode_err(&frame_bytes(5, &p));
        assert_eq!(
            e,
            WireError::CountTooLarge {
                kind: Kind::ResponseHead,
                field: "header count",
                count: 3,
                fits: 0
            }
        );

        // A count that fits the bytes but not the entries is a truncation instead.
        let mut p = vec![0u8; REQUEST_FIXED];
        p.extend_from_slice(&2u32.to_le_bytes());
        p.extend_from_slice(&[1, 0, 0, 0, b'K', 0, 0, 0, 0, 5, 0, 0, 0, b'a', b'b', b'c']);
        assert!(matches!(
            decode_err(&frame_bytes(1, &p)),
            WireError::Truncated { field: "environ key", entry: Some(1), need: 5, have: 3, .. }
        ));
    }

    #[test]
    fn empty_keys_are_rejected() {
        let mut p = vec![0u8; REQUEST_FIXED];
        p.extend_from_slice(&2u32.to_le_bytes());
        p.extend_from_slice(&[1, 0, 0, 0, b'K', 0, 0, 0, 0]);
        p.extend_from_slice(&[0, 0, 0, 0, 1, 0, 0, 0, b'v']);
        let e = decode_err(&frame_bytes(1, &p));
        assert_eq!(
            e,
            WireError::EmptyKey { kind: Some(Kind::RequestHead), field: "environ key", entry: 1 }
        );
        assert_eq!(e.to_string(), "RequestHead frame: empty `environ key` in entry 1");

        let mut p = 200u16.to_le_bytes().to_vec();
        p.extend_from_slice(&0u32.to_le_bytes());
        p.extend_from_slice(&1u32.to_le_bytes());
        p.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            decode_err(&frame_bytes(5, &p)),
            WireError::EmptyKey { kind: Some(Kind::ResponseHead), field: "header name", entry: 0 }
        );

        // And they cannot be built.
        let mut list = Pairs::new();
        list.push(b"A", b"").unwrap();
        assert_eq!(
            list.push(b"", b"x"),
            Err(WireError::EmptyKey { kind: None, field: "key", entry: 1 })
        );
        assert_eq!(list.len(), 1);
    }

    #[test]
    fn bad_values_and_trailing_bytes() {
        let mut p = vec![0u8; REQUEST_FIXED];
        p[SECRET_LEN + 16..REQUEST_FIXED].copy_from_slice(&0x30u32.to_le_bytes());
        p.extend_from_slice(&0u32.to_le_bytes());
        let e = decode_err(&frame_bytes(1, &p));
        assert_eq!(e, WireError::BadValue { kind: Kind::RequestHead, field: "flags", value: 0x30 });
        assert!(e.to_string().contains("invalid `flags` value 48 (0x30)"), "{e}");

        assert_eq!(
            decode_err(&frame_bytes(8, &[4])),
            WireError::BadValue { kind: Kind::End, field: "outcome", value: 4 }
        );
        assert_eq!(
            decode_err(&frame_bytes(9, &[2])),
            WireError::BadValue { kind: Kind::Rejected, field: "reason", value: 2 }
        );
        assert_eq!(
            decode_err(&frame_bytes(2, &[0; 4])),
            WireError::BadValue { kind: Kind::BodyRequest, field: "max", value: 0 }
        );

        let mut bytes = encode_all(&[Frame::ResponseHead(response_head())]);
        bytes.extend_from_slice(b"zz");
        let len = (bytes.len() - HEADER_LEN) as u32;
        bytes[1..5].copy_from_slice(&len.to_le_bytes());
        let e = decode_err(&bytes);
        assert_eq!(e, WireError::TrailingBytes { kind: Kind::ResponseHead, extra: 2 });
        assert_eq!(e.to_string(), "ResponseHead frame has 2 trailing bytes after its last field");
    }

    #[test]
    fn frames_before_an_error_are_delivered() {
        let mut bytes = encode_all(&[Frame::Ping, Frame::Body(b"x".to_vec())]);
        bytes.extend_from_slice(&frame_bytes(3, &[]));
        let mut d = Decoder::new();
        d.feed(&bytes);
        assert_eq!(d.next_frame(), Ok(Some(Frame::Ping)));
        assert_eq!(d.next_frame(), Ok(Some(Frame::Body(b"x".to_vec()))));
        assert_eq!(d.next_frame(), Err(WireError::EmptyBody));
    }

    #[test]
    fn pairs_helpers() {
        let env = environ();
        assert_eq!(env.len(), 4);
        assert_eq!(env.get(b"PATH_INFO"), Some(&b"/a b/\xff\x00"[..]));
        assert_eq!(env.get(b"HTTP_X_EMPTY"), Some(&b""[..]));
        assert_eq!(env.get(b"NOPE"), None);
        let keys: Vec<&[u8]> = env.iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [&b"REQUEST_METHOD"[..], b"PATH_INFO", b"HTTP_X_EMPTY", b"wsgi.url_scheme"]
        );
        assert_eq!(env.iter().len(), 4);

        // encode_into / decode are inverse and report what they took.
        let mut wire = Vec::new();
        env.encode_into(&mut wire);
        assert_eq!(wire.len(), env.encoded_len());
        wire.extend_from_slice(b"rest");
        let (back, used) = Pairs::decode(&wire).unwrap();
        assert_eq!(back, env);
        assert_eq!(used, wire.len() - 4);
        assert!(matches!(
            Pairs::decode(&wire[..10]),
            Err(WireError::CountTooLarge { count: 4, fits: 0, .. })
        ));

        // Reuse across requests keeps the buffer.
        let mut reused = env.clone();
        let cap = reused.buf.capacity();
        reused.clear();
        assert!(reused.is_empty() && reused.iter().next().is_none());
        reused.push(b"K", b"V").unwrap();
        assert_eq!(reused.buf.capacity(), cap);
        assert_eq!(reused, Pairs::from_pairs([("K", "V")]).unwrap());

        let dbg = format!("{env:?}");
        assert!(dbg.contains(r#"b"PATH_INFO": b"/a b/\xff\x00""#), "{dbg}");
    }

    #[test]
    fn body_encoding_splits_large_bodies() {
        let data: Vec<u8> = (0..(2 * BODY_CHUNK as usize + 3)).map(|i| i as u8).collect();
        let mut out = Vec::new();
        encode_body(&data, &mut out);
        let frames = decode_all(&out).unwrap();
        let sizes: Vec<usize> = frames
            .iter()
            .map(|f| match f {
                Frame::Body(b) => b.len(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(sizes, [BODY_CHUNK as usize, BODY_CHUNK as usize, 3]);
        let joined: Vec<u8> = frames
            .into_iter()
            .flat_map(|f| match f {
                Frame::Body(b) => b,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(joined, data);
        // Frame::Body goes through the same path.
        assert_eq!(encode_all(&[Frame::Body(data)]), out);
        let mut out = Vec::new();
        encode_body(&[], &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn secret_check_and_redacted_debug() {
        let h = request_head();
        assert!(h.secret_matches(b"0123456789abcdef0123456789ABCDEF"));
        assert!(!h.secret_matches(b"0123456789abcdef0123456789ABCDEg"));
        assert!(!h.secret_matches(&[0; 32]));
        let dbg = format!("{:?}", Frame::RequestHead(h));
        assert!(!dbg.contains("0123456789abcdef") && dbg.contains("<redacted>"), "{dbg}");
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

    #[test]
    fn decoder_buffer_stays_small_across_keep_alive() {
        // Many request/response cycles on one connection, fed in awkward pieces: the buffer is
        // reused rather than growing with the stream.
        let frames = samples();
        let bytes = encode_all(&frames);
        let mut d = Decoder::new();
        let mut got = Vec::new();
        for _ in 0..200 {
            for piece in bytes.chunks(7) {
                d.feed(piece);
                drain(&mut d, &mut got).unwrap();
            }
        }
        assert_eq!(got.len(), frames.len() * 200);
        assert!(d.buf.capacity() <= 4 * bytes.len(), "capacity {}", d.buf.capacity());
    }

    // ---- property-style tests with a small deterministic PRNG -----------------------------

    /// SplitMix64: tiny, good enough to drive test cases, no crates needed.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn bytes(&mut self, max: usize) -> Vec<u8> {
            // Mostly short, sometimes long, to cross many split points inside one field.
            let cap = if self.below(8) == 0 { max * 16 } else { max };
            let len = self.below(cap + 1);
            (0..len).map(|_| self.next() as u8).collect()
        }

        fn pairs(&mut self) -> Pairs {
            let mut p = Pairs::new();
            for _ in 0..self.below(12) {
                let mut k = self.bytes(10);
                if k.is_empty() {
                    k.push(b'k');
                }
                p.push(&k, &self.bytes(20)).unwrap();
            }
            p
        }

        fn frame(&mut self) -> Frame {
            match self.below(11) {
                0 => {
                    let mut secret = [0u8; SECRET_LEN];
                    secret.iter_mut().for_each(|b| *b = self.next() as u8);
                    Frame::RequestHead(RequestHead {
                        secret,
                        request_start_us: self.next(),
                        queue_start_us: self.next(),
                        flags: RequestFlags::from_bits(self.next() as u32 & 0xf).unwrap(),
                        environ: self.pairs(),
                    })
                }
                1 => {
                    Frame::BodyRequest { max: NonZeroU32::new(self.next() as u32).unwrap_or(nz(1)) }
                }
                2 => {
                    let mut b = self.bytes(64);
                    if b.is_empty() {
                        b.push(0);
                    }
                    Frame::Body(b)
                }
                3 => Frame::BodyEnd,
                4 => Frame::ResponseHead(
                    ResponseHead::new(self.next() as u16, self.bytes(20), self.pairs()).unwrap(),
                ),
                5 => Frame::SendFile { offset: self.next(), length: self.next() },
                6 => Frame::Flush,
                7 => Frame::End(Outcome::from_byte(self.below(3) as u8).unwrap()),
                8 => Frame::Rejected(RejectReason::from_byte(self.below(2) as u8).unwrap()),
                9 => Frame::Ping,
                _ => Frame::Pong,
            }
        }
    }

    /// Feeds `bytes` in random pieces, draining after each; returns frames and the first error.
    fn decode_in_pieces(
        rng: &mut Rng,
        bytes: &[u8],
        limits: Limits,
    ) -> (Vec<Frame>, Result<(), WireError>) {
        let mut d = Decoder::with_limits(limits);
        let mut got = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let max = if rng.below(4) == 0 { 4 } else { 300 };
            let n = 1 + rng.below(max);
            let end = (at + n).min(bytes.len());
            d.feed(&bytes[at..end]);
            at = end;
            if let Err(e) = drain(&mut d, &mut got) {
                return (got, Err(e));
            }
        }
        (got, d.finish())
    }

    #[test]
    fn random_frames_random_splits() {
        let mut rng = Rng(0x5eed_0001);
        for round in 0..500 {
            let frames: Vec<Frame> = (0..1 + rng.below(20)).map(|_| rng.frame()).collect();
            let bytes = encode_all(&frames);
            let (got, end) = decode_in_pieces(&mut rng, &bytes, Limits::default());
            assert_eq!(end, Ok(()), "round {round}");
            assert_eq!(got, frames, "round {round}");
            // Canonical: re-encoding what was decoded gives the same bytes.
            assert_eq!(encode_all(&got), bytes, "round {round}");
        }
    }

    #[test]
    fn random_corruption_never_panics_and_ignores_splits() {
        // Whatever the bytes, the result must not depend on how they were split.
        let mut rng = Rng(0x5eed_0002);
        let small = Limits { max_head: 512, max_body: 64 };
        for round in 0..2000 {
            let frames: Vec<Frame> = (0..1 + rng.below(6)).map(|_| rng.frame()).collect();
            let mut bytes = encode_all(&frames);
            for _ in 0..1 + rng.below(4) {
                match rng.below(4) {
                    0 if !bytes.is_empty() => {
                        let i = rng.below(bytes.len());
                        bytes[i] = rng.next() as u8;
                    }
                    1 if !bytes.is_empty() => {
                        let i = rng.below(bytes.len());
                        bytes.truncate(i);
                    }
                    2 => {
                        let i = rng.below(bytes.len() + 1);
                        bytes.insert(i, rng.next() as u8);
                    }
                    _ => {}
                }
            }
            for limits in [Limits::default(), small] {
                let mut whole = Decoder::with_limits(limits);
                whole.feed(&bytes);
                let mut expect = Vec::new();
                let expect_end = drain(&mut whole, &mut expect).and_then(|()| whole.finish());
                let (got, end) = decode_in_pieces(&mut rng, &bytes, limits);
                assert_eq!(got, expect, "round {round}");
                assert_eq!(end, expect_end, "round {round}");
                // Whatever decoded re-encodes to a prefix of the input.
                let re = encode_all(&got);
                assert_eq!(re[..], bytes[..re.len()], "round {round}");
            }
        }
    }

    /// Decodes with next_piece, feeding random splits, sometimes taking body bytes "directly"
    /// (as a relay reading from its socket would); Body pieces of one frame are joined again.
    fn decode_streamed(rng: &mut Rng, bytes: &[u8]) -> Result<Vec<Frame>, WireError> {
        let mut d = Decoder::new();
        let (mut frames, mut body, mut at) = (Vec::new(), Vec::new(), 0);
        loop {
            let max = 1 + rng.below(9);
            let got = match d.next_piece(max)? {
                Some(Piece::Frame(f)) => Some(Ok(f)),
                Some(Piece::Body(piece)) => Some(Err(piece.to_vec())),
                None => None,
            };
            match got {
                Some(Ok(f)) => frames.push(f),
                Some(Err(piece)) => {
                    assert!(!piece.is_empty() && piece.len() <= max);
                    body.extend_from_slice(&piece);
                }
                None if at == bytes.len() => break,
                None if d.body_left() > 0 && d.buffered() == 0 && rng.below(2) == 0 => {
                    let n = d.body_left().min(1 + rng.below(7)).min(bytes.len() - at);
                    body.extend_from_slice(&bytes[at..at + n]);
                    at += n;
                    d.body_read_directly(n);
                }
                None => {
                    let n = (1 + rng.below(11)).min(bytes.len() - at);
                    d.feed(&bytes[at..at + n]);
                    at += n;
                }
            }
            if d.body_left() == 0 && !body.is_empty() {
                frames.push(Frame::Body(std::mem::take(&mut body)));
            }
        }
        d.finish()?;
        Ok(frames)
    }

    #[test]
    fn streamed_bodies_decode_like_whole_frames() {
        let mut rng = Rng(0x5eed_0003);
        for round in 0..500 {
            let frames: Vec<Frame> = (0..1 + rng.below(12)).map(|_| rng.frame()).collect();
            let bytes = encode_all(&frames);
            assert_eq!(decode_streamed(&mut rng, &bytes), Ok(frames), "round {round}");
        }
    }

    #[test]
    fn stream_cut_inside_a_streamed_body_is_an_error() {
        let bytes = encode_all(&[Frame::Body(b"0123456789".to_vec())]);
        let mut d = Decoder::new();
        d.feed(&bytes[..HEADER_LEN + 4]);
        assert_eq!(d.next_piece(100), Ok(Some(Piece::Body(&b"0123"[..]))));
        assert_eq!(d.next_piece(100), Ok(None));
        assert_eq!(d.body_left(), 6);
        assert!(matches!(d.finish(), Err(WireError::UnexpectedEof { kind: Some(Kind::Body), .. })));
    }

    #[test]
    fn streamed_body_limit_is_checked_from_the_header() {
        let mut d = Decoder::with_limits(Limits { max_head: 64, max_body: 8 });
        d.feed(&encode_all(&[Frame::Body(vec![1; 9])])[..HEADER_LEN]);
        assert!(matches!(d.next_piece(100), Err(WireError::FrameTooLarge { .. })));
    }

    #[test]
    fn body_header_matches_encode_body() {
        let mut out = Vec::new();
        encode_body(b"abc", &mut out);
        assert_eq!(body_header(3)[..], out[..HEADER_LEN]);
    }
}
