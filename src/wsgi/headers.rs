//! PEP 3333 status and header rules, written once for both transports. The messages are
//! mod_wsgi 6's, so an application's error log reads the same under either module.

use super::latin1::{bytes_repr, encode};

/// Parses a WSGI status line: three digits, then the end or a space and a reason phrase
/// without control characters. Returns the code and the line to send.
pub fn parse_status(status: &str) -> Result<(u16, String), String> {
    let bytes = encode(status);
    let repr = || bytes_repr(&bytes);
    let digits = bytes.len() >= 3 && bytes[..3].iter().all(u8::is_ascii_digit);
    if !digits || bytes.get(3).is_some_and(u8::is_ascii_digit) {
        return Err(format!("status code must be a 3 digit integer: {}", repr()));
    }
    if bytes.len() > 3 && bytes[3] != b' ' {
        return Err(format!("no space following status code: {}", repr()));
    }
    if bytes[3.min(bytes.len())..].iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err(format!("control character in status reason phrase: {}", repr()));
    }
    let code: u16 = status[..3].parse().map_err(|_| format!("status code must be a 3 digit integer: {}", repr()))?;
    if code < 100 {
        // Apache has no status line for these; mod_wsgi would pass them on regardless.
        return Err(format!("status code must be 100 or more: {}", repr()));
    }
    let line = if bytes.len() == 3 { format!("{code} ") } else { status.to_string() };
    Ok((code, line))
}

/// A header name must be a non-empty token; a value may not contain CR or LF (they would let
/// the application split the response) nor other control characters except tab.
/// mod_wsgi 6 lets a colon or non-ASCII through in a name and control characters in a
/// value; Apache then sends a malformed response, so those are refused here too.
pub fn validate_header(name: &str, value: &str) -> Result<(), String> {
    let name_bytes = encode(name);
    if name.is_empty() {
        return Err("header name is empty".into());
    }
    if name.chars().any(char::is_control) {
        return Err(format!("control character in header name: {}", bytes_repr(&name_bytes)));
    }
    if name.contains(' ') {
        return Err(format!("space character in header name: {}", bytes_repr(&name_bytes)));
    }
    if let Some(c) = name.chars().find(|&c| c == ':' || !c.is_ascii()) {
        return Err(format!("invalid character {c:?} in header name: {}", bytes_repr(&name_bytes)));
    }
    if value.chars().any(|c| c == '\r' || c == '\n') {
        return Err(format!("carriage return/line feed character in header value: {}", bytes_repr(&encode(value))));
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(format!("control character in header value: {}", bytes_repr(&encode(value))));
    }
    Ok(())
}

/// The application's Content-Length, with mod_wsgi 6's message when it is not a number.
pub fn parse_content_length(value: &str) -> Result<u64, String> {
    value.trim().parse::<u64>().map_err(|_| format!("invalid Content-Length header value: '{value}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(parse_status("200 OK"), Ok((200, "200 OK".into())));
        assert_eq!(parse_status("299"), Ok((299, "299 ".into())));
        assert_eq!(parse_status("404 Not Found"), Ok((404, "404 Not Found".into())));
        assert_eq!(parse_status("20 OK").unwrap_err(), "status code must be a 3 digit integer: b'20 OK'");
        assert_eq!(parse_status("2000 OK").unwrap_err(), "status code must be a 3 digit integer: b'2000 OK'");
        assert_eq!(parse_status("200OK").unwrap_err(), "no space following status code: b'200OK'");
        assert_eq!(parse_status("200 O\u{1}K").unwrap_err(), "control character in status reason phrase: b'200 O\\x01K'");
        assert!(parse_status("200 OK\r\nX: y").is_err());
        assert!(parse_status("abc OK").is_err());
        assert!(parse_status("099 Low").is_err());
    }

    #[test]
    fn headers() {
        assert!(validate_header("Content-Type", "text/plain; charset=utf-8").is_ok());
        assert!(validate_header("X-Tab", "a\tb").is_ok());
        assert!(validate_header("X-Latin", "caf\u{e9}").is_ok());
        assert_eq!(
            validate_header("X-Bad", "a\r\nSet-Cookie: x=1").unwrap_err(),
            "carriage return/line feed character in header value: b'a\\r\\nSet-Cookie: x=1'"
        );
        assert!(validate_header("X-Bad", "a\nb").is_err());
        assert_eq!(validate_header("", "x").unwrap_err(), "header name is empty");
        assert_eq!(validate_header("Bad Name", "x").unwrap_err(), "space character in header name: b'Bad Name'");
        assert!(validate_header("Bad:Name", "x").is_err());
        assert!(validate_header("X-Ctl", "a\u{1}b").is_err());
    }

    #[test]
    fn content_length() {
        assert_eq!(parse_content_length("12"), Ok(12));
        assert_eq!(parse_content_length("abc").unwrap_err(), "invalid Content-Length header value: 'abc'");
    }
}
