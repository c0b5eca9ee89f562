//! The protocol error: one type for every way a stream or a value can be wrong.

use super::Kind;
use std::fmt;

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
    /// A text field (script path, application group) that is not UTF-8.
    NotUtf8 { kind: Kind, field: &'static str },
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
            WireError::NotUtf8 { kind, field } => {
                write!(f, "{kind} frame: `{field}` is not UTF-8")
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
