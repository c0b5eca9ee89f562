//! Encoding: frames to bytes. Infallible, because every value a `Frame` can hold fits.

use super::{BODY_CHUNK, Frame, HEADER_LEN, Kind};

/// Appends the frame's wire form to `out`. Infallible: every `Frame` value fits (see
/// [`Pairs::push`](super::Pairs::push), [`ResponseHead::new`](super::ResponseHead::new),
/// [`Frame::Body`]).
pub fn encode(frame: &Frame, out: &mut Vec<u8>) {
    match frame {
        Frame::RequestHead(h) => {
            put_header(out, Kind::RequestHead, h.payload_len());
            out.extend_from_slice(&h.secret);
            out.extend_from_slice(&h.request_start_us.to_le_bytes());
            out.extend_from_slice(&h.queue_start_us.to_le_bytes());
            out.extend_from_slice(&h.flags.to_bits().to_le_bytes());
            for text in [h.script(), h.application_group()] {
                out.extend_from_slice(&(text.len() as u32).to_le_bytes());
                out.extend_from_slice(text.as_bytes());
            }
            h.environ.encode_into(out);
        }
        Frame::BodyRequest { max } => {
            put_header(out, Kind::BodyRequest, 4);
            out.extend_from_slice(&max.get().to_le_bytes());
        }
        Frame::Body(data) => encode_body(data, out),
        Frame::ResponseHead(h) => {
            put_header(out, Kind::ResponseHead, h.payload_len());
            out.extend_from_slice(&h.status().to_le_bytes());
            out.extend_from_slice(&(h.status_line().len() as u32).to_le_bytes());
            out.extend_from_slice(h.status_line());
            h.headers().encode_into(out);
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

#[cfg(test)]
mod tests {
    use super::*;
    use super::super::testkit::*;
    use super::super::*;

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
        assert_eq!(&req[53..57], &0b1_1101u32.to_le_bytes());
        assert_eq!(&req[57..61], &23u32.to_le_bytes());
        assert_eq!(&req[61..84], "/srv/www/café/app.wsgi".as_bytes());
        assert_eq!(&req[84..88], &16u32.to_le_bytes());
        assert_eq!(&req[88..104], b"example.com|/app");
        assert_eq!(&req[104..108], &4u32.to_le_bytes());
        assert_eq!(&req[108..112], &14u32.to_le_bytes());
        assert_eq!(&req[112..126], b"REQUEST_METHOD");
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
    fn body_header_matches_encode_body() {
        let mut out = Vec::new();
        encode_body(b"abc", &mut out);
        assert_eq!(body_header(3)[..], out[..HEADER_LEN]);
    }
}
