//! Fuzzes the daemon wire codec: arbitrary bytes, fed in arbitrary pieces.
//!
//! Input: byte 0 picks the limits and the piece sizes, bytes 1-2 seed the split points, the
//! rest is the stream. Checks: no panic; the frames and the final error do not depend on how
//! the stream was split; every decoded frame re-encodes to exactly its input bytes (the encoding
//! is canonical) and that re-encoding decodes alone to the same frame.

#![no_main]

use libfuzzer_sys::fuzz_target;

// The codec as the module builds it (a dependency, not a copy by path): only its std-only code
// is reached, so the fuzzer links without Apache or Python.
use mod_wsgi_rs::daemon::wire::{Decoder, Frame, Limits, WireError, encode};

/// Frames decoded and how the stream ended (`finish`, or the first error).
type Outcome = (Vec<Frame>, Result<(), WireError>);

fn decode(limits: Limits, pieces: &mut dyn Iterator<Item = &[u8]>) -> Outcome {
    let mut d = Decoder::with_limits(limits);
    let mut frames = Vec::new();
    for piece in pieces {
        d.feed(piece);
        loop {
            match d.next_frame() {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break,
                Err(e) => return (frames, Err(e)),
            }
        }
    }
    let end = d.finish();
    (frames, end)
}

/// Splits `stream` at points drawn from a SplitMix64 PRNG.
struct Pieces<'a> {
    rest: &'a [u8],
    state: u64,
    max: usize,
}

impl<'a> Iterator for Pieces<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        // Empty pieces too: feeding nothing must be harmless.
        let n = ((z % (self.max as u64 + 1)) as usize).min(self.rest.len());
        let (piece, rest) = self.rest.split_at(n);
        self.rest = rest;
        Some(piece)
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let (ctl, seed, stream) = (data[0], u16::from_le_bytes([data[1], data[2]]), &data[3..]);
    // Small limits reach the size checks with small inputs; all are ≤ the defaults, so every
    // decoded body is one encoder chunk and re-encoding is exact.
    let limits = match ctl & 3 {
        0 => Limits::default(),
        1 => Limits { max_head: 256, max_body: 16 },
        2 => Limits { max_head: 64, max_body: 1 },
        _ => Limits { max_head: 0, max_body: 0 },
    };
    let max = [1, 2, 3, 5, 8, 17, 64, 4096][usize::from((ctl >> 2) & 7)];

    let whole = decode(limits, &mut std::iter::once(stream));
    let split = decode(limits, &mut Pieces { rest: stream, state: seed.into(), max });
    assert_eq!(whole, split, "result depends on how the stream was split");

    let (frames, end) = whole;
    let mut reencoded = Vec::new();
    for f in &frames {
        let mut one = Vec::new();
        encode(f, &mut one);
        let (again, again_end) = decode(limits, &mut std::iter::once(&one[..]));
        assert_eq!(again_end, Ok(()), "re-encoded {f:?} does not decode");
        assert_eq!(again, std::slice::from_ref(f), "re-encoded frame decodes differently");
        reencoded.extend_from_slice(&one);
    }
    assert_eq!(reencoded[..], stream[..reencoded.len()], "encoding is not canonical");
    if end.is_ok() {
        assert_eq!(reencoded.len(), stream.len(), "clean end but bytes left over");
    }
});
