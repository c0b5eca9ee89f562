//! The stream decoder: framing, limits, and handing out frames or body pieces.

use super::payload::parse_payload;
use super::{BODY_CHUNK, DEFAULT_MAX_HEAD, Frame, HEADER_LEN, Kind, WireError};

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

#[cfg(test)]
mod tests {
    use super::*;
    use super::super::testkit::*;
    use super::super::*;

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
}
