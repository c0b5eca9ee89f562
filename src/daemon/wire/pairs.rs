//! Byte-string pair lists (environ, headers) in their wire form.

use super::payload::Reader;
use super::{Kind, MAX_LIST_BYTES, WireError};
use std::fmt;

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
pub(super) struct ListNames {
    count: &'static str,
    key_len: &'static str,
    key: &'static str,
    value_len: &'static str,
    value: &'static str,
}

pub(super) const ENVIRON: ListNames = ListNames {
    count: "environ count",
    key_len: "environ key length",
    key: "environ key",
    value_len: "environ value length",
    value: "environ value",
};

pub(super) const HEADERS: ListNames = ListNames {
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
        let mut r = Reader::new(Kind::RequestHead, bytes);
        let list = Pairs::read(&mut r, &ENVIRON)?;
        Ok((list, r.pos()))
    }

    /// Validates the list in place, then copies its entries in one go.
    pub(super) fn read(r: &mut Reader<'_>, names: &ListNames) -> Result<Pairs, WireError> {
        let count = r.u32(names.count, None)?;
        // Each entry takes at least its two lengths: a count the payload cannot hold is caught
        // before the loop, so a hostile count costs nothing.
        let fits = r.remaining() / 8;
        if count as usize > fits {
            return Err(WireError::CountTooLarge { kind: r.kind(), field: names.count, count, fits });
        }
        let start = r.pos();
        for entry in 0..count {
            let klen = r.u32(names.key_len, Some(entry))?;
            let key = r.take(klen as usize, names.key, Some(entry))?;
            if key.is_empty() {
                return Err(WireError::EmptyKey { kind: Some(r.kind()), field: names.key, entry });
            }
            let vlen = r.u32(names.value_len, Some(entry))?;
            r.take(vlen as usize, names.value, Some(entry))?;
        }
        let buf = r.consumed_since(start);
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

#[cfg(test)]
mod tests {
    use super::*;
    use super::super::testkit::*;

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
}
