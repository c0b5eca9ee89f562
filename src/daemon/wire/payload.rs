//! Parsing one payload whose length the header check accepted: field by field, naming
//! the frame and field in every error.

use super::pairs::{ENVIRON, HEADERS};
use super::{
    BodyFailure, Frame, Kind, Outcome, Pairs, RejectReason, RequestFlags, RequestHead, ResponseHead,
    SECRET_LEN, WireError,
};
use std::num::NonZeroU32;

/// A cursor over one payload, naming the frame and field in its errors.
pub(super) struct Reader<'a> {
    kind: Kind,
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(kind: Kind, buf: &'a [u8]) -> Self {
        Reader { kind, buf, pos: 0 }
    }

    pub(super) fn kind(&self) -> Kind {
        self.kind
    }

    /// Bytes read so far.
    pub(super) fn pos(&self) -> usize {
        self.pos
    }

    /// The bytes read since position `start`, as one slice of the payload.
    pub(super) fn consumed_since(&self, start: usize) -> &'a [u8] {
        &self.buf[start..self.pos]
    }

    pub(super) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(super) fn take(
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

    pub(super) fn u32(&mut self, field: &'static str, entry: Option<u32>) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(self.array(field, entry)?))
    }

    /// A `u32` length, then that many bytes of UTF-8.
    fn text(&mut self, len_field: &'static str, field: &'static str) -> Result<String, WireError> {
        let len = self.u32(len_field, None)?;
        let bytes = self.take(len as usize, field, None)?;
        let text = std::str::from_utf8(bytes)
            .map_err(|_| WireError::NotUtf8 { kind: self.kind, field })?;
        Ok(text.to_owned())
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
pub(super) fn parse_payload(kind: Kind, payload: &[u8]) -> Result<Frame, WireError> {
    let mut r = Reader::new(kind, payload);
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
            let script = r.text("script length", "script")?;
            let application_group = r.text("application group length", "application group")?;
            let environ = Pairs::read(&mut r, &ENVIRON)?;
            Frame::RequestHead(RequestHead::new(
                secret,
                request_start_us,
                queue_start_us,
                flags,
                script,
                application_group,
                environ,
            )?)
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
    use super::super::testkit::*;
    use super::super::*;

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
            matches!(e, WireError::Truncated { field: "script length", offset: 52, .. }),
            "{e:?}"
        );
        let e = decode_err(&frame_bytes(1, &[0; 60]));
        assert!(
            matches!(e, WireError::Truncated { field: "environ count", offset: 60, .. }),
            "{e:?}"
        );

        // Environ value length pointing past the end of the payload.
        let mut p = request_prefix();
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
        let mut p = request_prefix();
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
        let mut p = request_prefix();
        p.extend_from_slice(&2u32.to_le_bytes());
        p.extend_from_slice(&[1, 0, 0, 0, b'K', 0, 0, 0, 0, 5, 0, 0, 0, b'a', b'b', b'c']);
        assert!(matches!(
            decode_err(&frame_bytes(1, &p)),
            WireError::Truncated { field: "environ key", entry: Some(1), need: 5, have: 3, .. }
        ));
    }

    #[test]
    fn empty_keys_are_rejected() {
        let mut p = request_prefix();
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
        let mut p = request_prefix();
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

    /// A `RequestHead` payload with these script and group bytes, each after the length given
    /// (which may lie), and an empty environ.
    fn head_with_texts(script_len: u32, script: &[u8], group_len: u32, group: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; REQUEST_FIXED];
        p.extend_from_slice(&script_len.to_le_bytes());
        p.extend_from_slice(script);
        p.extend_from_slice(&group_len.to_le_bytes());
        p.extend_from_slice(group);
        p.extend_from_slice(&0u32.to_le_bytes());
        p
    }

    #[test]
    fn script_and_group_are_checked() {
        // Well-formed: multi-byte UTF-8 passes.
        let p = head_with_texts(4, "/aé".as_bytes(), 1, b"g");
        match decode_all(&frame_bytes(1, &p)).unwrap().as_slice() {
            [Frame::RequestHead(h)] => {
                assert_eq!((h.script(), h.application_group()), ("/aé", "g"));
                assert!(h.environ.is_empty());
            }
            other => panic!("{other:?}"),
        }

        // Lengths past the end of the payload, including one no payload can hold.
        let truncated = |field, offset, need, have| WireError::Truncated {
            kind: Kind::RequestHead,
            field,
            entry: None,
            offset,
            need,
            have,
        };
        let p = head_with_texts(1000, b"/a", 1, b"g");
        assert_eq!(decode_err(&frame_bytes(1, &p)), truncated("script", 56, 1000, 11));
        let p = head_with_texts(u32::MAX, b"/a", 0, b"");
        assert_eq!(decode_err(&frame_bytes(1, &p)), truncated("script", 56, u32::MAX as usize, 10));
        let p = head_with_texts(2, b"/a", 50, b"g");
        assert_eq!(decode_err(&frame_bytes(1, &p)), truncated("application group", 62, 50, 5));

        // Cut inside either length.
        let e = decode_err(&frame_bytes(1, &[0; REQUEST_FIXED + 2]));
        assert_eq!(e, truncated("script length", 52, 4, 2));
        assert!(e.to_string().contains("truncated in field `script length`"), "{e}");
        let e = decode_err(&frame_bytes(1, &[0; REQUEST_FIXED + 4 + 3]));
        assert_eq!(e, truncated("application group length", 56, 4, 3));

        // Not UTF-8: a stray byte, and a sequence cut short.
        let p = head_with_texts(2, b"\xff/", 0, b"");
        let e = decode_err(&frame_bytes(1, &p));
        assert_eq!(e, WireError::NotUtf8 { kind: Kind::RequestHead, field: "script" });
        assert_eq!(e.to_string(), "RequestHead frame: `script` is not UTF-8");
        let p = head_with_texts(1, b"/", 2, b"a\xc3");
        assert_eq!(
            decode_err(&frame_bytes(1, &p)),
            WireError::NotUtf8 { kind: Kind::RequestHead, field: "application group" }
        );
    }
}
