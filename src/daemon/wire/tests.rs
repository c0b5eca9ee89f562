//! Properties of encoder and decoder together: every kind round-trips, and random streams,
//! split and corrupted at random, decode the same however they arrive.

use super::testkit::*;
use super::*;

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
fn script_group_and_https_travel_as_fields_not_environ() {
    let head = request_head();
    let frames = decode_all(&encode_all(&[Frame::RequestHead(head.clone())])).unwrap();
    let [Frame::RequestHead(back)] = frames.as_slice() else { panic!("{frames:?}") };
    assert_eq!(back.script(), "/srv/www/café/app.wsgi");
    assert_eq!(back.application_group(), "example.com|/app");
    assert!(back.flags.https);
    // The environ is exactly what was put in: no entries stand in for the fields.
    assert_eq!(back.environ, environ());
    assert_eq!(*back, head);
    // The https bit alone flips only https.
    let plain = RequestFlags { https: false, ..head.flags };
    assert_eq!(head.flags.to_bits() ^ plain.to_bits(), RequestFlags::HTTPS);
}
