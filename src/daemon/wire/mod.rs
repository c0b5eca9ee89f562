//! Daemon-mode wire protocol: a pure codec (std only, no I/O, no Apache, no Python).
//!
//! One Unix stream connection between an Apache child and a daemon process carries requests one
//! after another (keep-alive). Every frame is `kind: u8`, `len: u32 LE`, then `len` payload
//! bytes; all integers are little-endian. Kind bytes start at 1 so a zeroed buffer is an error.
//!
//! | kind | byte | direction | payload |
//! |---|---|---|---|
//! | `RequestHead`  | 1  | child → daemon | secret\[32\], u64 request_start_us, u64 queue_start_us, u32 flags, u32 len + script path, u32 len + application group, environ list |
//! | `BodyRequest`  | 2  | daemon → child | u32 credit (> 0): request-body bytes the child may send on |
//! | `Body`         | 3  | both           | raw bytes (never empty) |
//! | `BodyEnd`      | 4  | child → daemon | none: the request body is complete |
//! | `ResponseHead` | 5  | daemon → child | u16 status, u32 len + status line, header list |
//! | `SendFile`     | 6  | daemon → child | u64 offset, u64 length (the fd goes alongside by SCM_RIGHTS) |
//! | `Flush`        | 7  | daemon → child | none |
//! | `End`          | 8  | daemon → child | u8 outcome: 0 complete, 1 aborted, 2 failed, 3 not found |
//! | `Rejected`     | 9  | daemon → child | u8 reason: 0 restarting, 1 queue timeout |
//! | `Ping`/`Pong`  | 10/11 | either      | none |
//! | `BodyFailed`   | 12 | child → daemon | u8 why: 0 client closed, 1 timed out, 2 refused by Apache (malformed), 3 other: the body ends here, incomplete |
//!
//! A list (environ, headers) is `u32 count` then per entry `u32 key_len, key, u32 value_len,
//! value`; bytes are not UTF-8-checked, keys must be non-empty.
//!
//! `RequestHead` flags: bit 0 script reloading, 1 sendfile enabled, 2 ignore activity, 3 HEAD
//! request, 4 https; other bits are an error. The script path (the file the daemon loads) and
//! the application group (the interpreter it runs in) must be UTF-8; they are fields of their
//! own, not environ entries, so no environ variable can stand in for them.
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

// One file per concern; everything public is re-exported here, so users only ever name
// `wire::X` and the split is invisible to them.
mod decoder;
mod encoder;
mod errors;
mod frames;
mod pairs;
mod payload;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;

pub use decoder::{Decoder, Limits, Piece};
pub use encoder::{body_header, encode, encode_body};
pub use errors::WireError;
pub use frames::{Frame, Kind, Outcome, RejectReason, RequestFlags, RequestHead, ResponseHead};
pub use pairs::{Pairs, PairsIter};

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

/// Fixed-size part of a `RequestHead` payload: secret, the two times, flags.
const REQUEST_FIXED: usize = SECRET_LEN + 8 + 8 + 4;
/// Cap on a list's entry bytes, on a status line, and on a request's script path and
/// application group together: two of them plus the fixed fields and lengths still fit the
/// u32 length field, so [`encode`] can be infallible.
const MAX_LIST_BYTES: usize = (u32::MAX as usize) / 2 - 64;
