//! Test fixtures shared by the wire unit tests: sample frames, whole-stream helpers, and a
//! small deterministic PRNG for property-style tests.

use super::*;
use std::num::NonZeroU32;

pub(super) fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

pub(super) fn environ() -> Pairs {
    Pairs::from_pairs([
        (&b"REQUEST_METHOD"[..], &b"GET"[..]),
        (b"PATH_INFO", b"/a b/\xff\x00"),
        (b"HTTP_X_EMPTY", b""),
        (b"wsgi.url_scheme", b"https"),
    ])
    .unwrap()
}

pub(super) fn request_head() -> RequestHead {
    let flags = RequestFlags {
        script_reloading: true,
        enable_sendfile: false,
        ignore_activity: true,
        head_request: true,
        https: true,
    };
    RequestHead::new(
        *b"0123456789abcdef0123456789ABCDEF",
        1_700_000_000_123_456,
        u64::MAX,
        flags,
        "/srv/www/café/app.wsgi".into(),
        "example.com|/app".into(),
        environ(),
    )
    .unwrap()
}

/// A `RequestHead` payload up to its environ list: zeroed fixed fields (so valid flags), an
/// empty script and an empty application group.
pub(super) fn request_prefix() -> Vec<u8> {
    vec![0u8; REQUEST_FIXED + 4 + 4]
}

pub(super) fn response_head() -> ResponseHead {
    let headers = Pairs::from_pairs([
        ("Content-Type", "text/plain"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
    ])
    .unwrap();
    ResponseHead::new(404, &b"404 Not Found"[..], headers).unwrap()
}

/// At least one of every kind, with edge values.
pub(super) fn samples() -> Vec<Frame> {
    vec![
        Frame::RequestHead(request_head()),
        Frame::RequestHead(
            RequestHead::new([0; 32], 0, 0, RequestFlags::default(), "".into(), "".into(), Pairs::new())
                .unwrap(),
        ),
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

pub(super) fn encode_all(frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in frames {
        encode(f, &mut out);
    }
    out
}

/// Drains every frame; stops at the first error.
pub(super) fn drain(d: &mut Decoder, into: &mut Vec<Frame>) -> Result<(), WireError> {
    while let Some(f) = d.next_frame()? {
        into.push(f);
    }
    Ok(())
}

pub(super) fn decode_all(bytes: &[u8]) -> Result<Vec<Frame>, WireError> {
    let mut d = Decoder::new();
    d.feed(bytes);
    let mut frames = Vec::new();
    drain(&mut d, &mut frames)?;
    d.finish()?;
    Ok(frames)
}

/// The first error a complete stream gives.
pub(super) fn decode_err(bytes: &[u8]) -> WireError {
    decode_all(bytes).expect_err("expected a protocol error")
}

pub(super) fn frame_bytes(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![kind];
    v.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    v.extend_from_slice(payload);
    v
}

/// SplitMix64: tiny, good enough to drive test cases, no crates needed.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(super) fn bytes(&mut self, max: usize) -> Vec<u8> {
        // Mostly short, sometimes long, to cross many split points inside one field.
        let cap = if self.below(8) == 0 { max * 16 } else { max };
        let len = self.below(cap + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }

    pub(super) fn pairs(&mut self) -> Pairs {
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

    pub(super) fn frame(&mut self) -> Frame {
        match self.below(11) {
            0 => {
                let mut secret = [0u8; SECRET_LEN];
                secret.iter_mut().for_each(|b| *b = self.next() as u8);
                let flags = RequestFlags::from_bits(self.next() as u32 & 0x1f).unwrap();
                // Lossy: any bytes, made valid UTF-8 (sometimes multi-byte U+FFFD).
                let script = String::from_utf8_lossy(&self.bytes(24)).into_owned();
                let group = String::from_utf8_lossy(&self.bytes(12)).into_owned();
                let (start, queue) = (self.next(), self.next());
                let head = RequestHead::new(secret, start, queue, flags, script, group, self.pairs());
                Frame::RequestHead(head.unwrap())
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
