//! PEP 3333's "native strings": header names, values and the status are str whose code
//! points are bytes (latin-1). On the wire and in Apache's tables they are those bytes.

/// The bytes of a str whose characters are all at most U+00FF (checked by the caller;
/// anything above is cut to its low byte).
pub fn encode(s: &str) -> Vec<u8> {
    s.chars().map(|c| c as u32 as u8).collect()
}

/// The str whose code points are these bytes.
pub fn decode(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

/// Python's repr() of a bytes object (b'...'), as mod_wsgi puts it in its error messages.
pub fn bytes_repr(bytes: &[u8]) -> String {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') { '"' } else { '\'' };
    let mut out = String::with_capacity(bytes.len() + 3);
    out.push('b');
    out.push(quote);
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            _ if b as char == quote => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(encode("caf\u{e9}"), b"caf\xe9");
        assert_eq!(decode(b"caf\xe9"), "caf\u{e9}");
    }

    #[test]
    fn repr_like_python() {
        assert_eq!(bytes_repr(b"20 OK"), "b'20 OK'");
        assert_eq!(bytes_repr(b"200 O\x01K"), "b'200 O\\x01K'");
        assert_eq!(bytes_repr(b"a\r\nb"), "b'a\\r\\nb'");
        assert_eq!(bytes_repr(b"it's"), "b\"it's\"");
        assert_eq!(bytes_repr(b"'\""), "b'\\'\"'");
        assert_eq!(bytes_repr(b"\xe9\\"), "b'\\xe9\\\\'");
    }
}
