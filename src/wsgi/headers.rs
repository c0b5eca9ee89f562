//! PEP 3333 status and header rules, written once for both transports.

/// Parses a WSGI status line: three digits, then the end or a space and a reason phrase
/// without control characters. Returns the code and the line to send.
pub fn parse_status(status: &str) -> Result<(u16, String), String> {
    let bytes = status.as_bytes();
    let digits = bytes.len() >= 3 && bytes[..3].iter().all(u8::is_ascii_digit);
    if !digits || (bytes.len() > 3 && bytes[3] != b' ') {
        return Err(format!("Invalid status '{status}': it must be three digits, a space and a reason phrase, e.g. '200 OK'"));
    }
    if bytes.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err(format!("Invalid status {status:?}: control characters are not allowed"));
    }
    let code: u16 = status[..3].parse().map_err(|_| format!("Invalid status '{status}'"))?;
    if !(100..=999).contains(&code) {
        return Err(format!("Invalid status code {code}"));
    }
    let line = if bytes.len() == 3 { format!("{code} ") } else { status.to_string() };
    Ok((code, line))
}

/// A header name must be a non-empty token; a value may not contain CR, LF or other control
/// characters except tab (a CR/LF would let the application split the response).
pub fn validate_header(name: &str, value: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Header name is empty".into());
    }
    if let Some(c) = name.chars().find(|&c| c.is_control() || c == ' ' || c == ':' || !c.is_ascii()) {
        return Err(format!("Header name {name:?} contains the invalid character {c:?}"));
    }
    if value.chars().any(|c| c == '\r' || c == '\n') {
        return Err(format!("Header value of {name:?} contains a CR or LF character"));
    }
    if let Some(c) = value.chars().find(|&c| (c.is_control() && c != '\t') || (c as u32) > 0xff) {
        return Err(format!("Header value of {name:?} contains the invalid character {c:?}"));
    }
    Ok(())
}

/// Headers the server owns: an application setting them would corrupt framing.
pub fn is_hop_by_hop(name: &str) -> bool {
    ["connection", "keep-alive", "transfer-encoding", "upgrade", "te", "trailer", "proxy-authenticate", "proxy-authorization"]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(parse_status("200 OK"), Ok((200, "200 OK".into())));
        assert_eq!(parse_status("299"), Ok((299, "299 ".into())));
        assert_eq!(parse_status("404 Not Found"), Ok((404, "404 Not Found".into())));
        assert!(parse_status("20 OK").is_err());
        assert!(parse_status("200OK").is_err());
        assert!(parse_status("200 OK\r\nX: y").is_err());
        assert!(parse_status("abc OK").is_err());
        assert!(parse_status("099 Low").is_err());
    }

    #[test]
    fn headers() {
        assert!(validate_header("Content-Type", "text/plain; charset=utf-8").is_ok());
        assert!(validate_header("X-Tab", "a\tb").is_ok());
        assert!(validate_header("X-Latin", "caf\u{e9}").is_ok());
        assert!(validate_header("X-Bad", "a\r\nSet-Cookie: x=1").unwrap_err().contains("CR or LF"));
        assert!(validate_header("X-Bad", "a\nb").is_err());
        assert!(validate_header("", "x").is_err());
        assert!(validate_header("Bad Name", "x").is_err());
        assert!(validate_header("Bad:Name", "x").is_err());
        assert!(validate_header("X-Wide", "\u{263a}").is_err());
    }

    #[test]
    fn hop_by_hop() {
        assert!(is_hop_by_hop("Transfer-Encoding"));
        assert!(is_hop_by_hop("connection"));
        assert!(!is_hop_by_hop("Content-Length"));
    }
}
