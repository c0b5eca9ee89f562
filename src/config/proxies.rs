//! Trusted proxy settings (WSGITrustedProxyHeaders / WSGITrustedProxies): which headers
//! may be trusted and from which networks. Applying them to a request is `wsgi::proxy`.

use std::net::IpAddr;

/// Each category: the environ keys of its synonyms.
pub const CLIENT: &[&str] = &["HTTP_X_FORWARDED_FOR", "HTTP_X_CLIENT_IP", "HTTP_X_REAL_IP"];
pub const HOST: &[&str] = &["HTTP_X_FORWARDED_HOST", "HTTP_X_HOST"];
pub const SERVER: &[&str] = &["HTTP_X_FORWARDED_SERVER"];
pub const PORT: &[&str] = &["HTTP_X_FORWARDED_PORT"];
pub const SCRIPT: &[&str] = &["HTTP_X_SCRIPT_NAME", "HTTP_X_FORWARDED_SCRIPT_NAME"];
pub const SCHEME: &[&str] = &["HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_SCHEME", "HTTP_X_SCHEME"];
pub const HTTPS_FLAG: &[&str] = &["HTTP_X_FORWARDED_HTTPS", "HTTP_X_FORWARDED_SSL", "HTTP_X_HTTPS"];
pub const CATEGORIES: &[&[&str]] = &[CLIENT, HOST, SERVER, PORT, SCRIPT, SCHEME, HTTPS_FLAG];

/// `X-Forwarded-For` -> `HTTP_X_FORWARDED_FOR`.
pub fn environ_key(header: &str) -> String {
    format!("HTTP_{}", header.to_ascii_uppercase().replace('-', "_"))
}

/// A header name a user may list: one of the synonyms above.
pub fn check_header(header: &str) -> Result<(), String> {
    let key = environ_key(header);
    if CATEGORIES.iter().any(|c| c.contains(&key.as_str())) {
        Ok(())
    } else {
        Err(format!(
            "WSGITrustedProxyHeaders: '{header}' is not a proxy header mod_wsgi knows; use X-Forwarded-For, X-Client-IP, X-Real-IP, X-Forwarded-Host, X-Host, X-Forwarded-Server, X-Forwarded-Port, X-Script-Name, X-Forwarded-Script-Name, X-Forwarded-Proto, X-Forwarded-Scheme, X-Scheme, X-Forwarded-HTTPS, X-Forwarded-SSL or X-HTTPS"
        ))
    }
}

/// An address or CIDR block from WSGITrustedProxies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn parse(s: &str) -> Result<Network, String> {
        let bad = || format!("WSGITrustedProxies: '{s}' is not an IP address or CIDR block (e.g. 10.0.0.0/8, ::1)");
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(Network { addr, prefix })
    }

    pub fn contains(&self, ip: &IpAddr) -> bool {
        let (a, b, bits) = match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(*b) as u128, 32u32),
            (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(*b), 128u32),
            _ => return false,
        };
        let shift = bits - self.prefix as u32;
        if shift >= bits { true } else { (a >> shift) == (b >> shift) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks() {
        let n = Network::parse("10.0.0.0/8").unwrap();
        assert!(n.contains(&"10.1.2.3".parse().unwrap()));
        assert!(!n.contains(&"11.0.0.1".parse().unwrap()));
        assert!(Network::parse("127.0.0.1").unwrap().contains(&"127.0.0.1".parse().unwrap()));
        assert!(Network::parse("::1").unwrap().contains(&"::1".parse().unwrap()));
        assert!(!Network::parse("::1").unwrap().contains(&"127.0.0.1".parse().unwrap()));
        assert!(Network::parse("10.0.0.0/33").is_err());
        assert!(Network::parse("example.org").is_err());
        assert!(Network::parse("0.0.0.0/0").unwrap().contains(&"8.8.8.8".parse().unwrap()));
    }

    #[test]
    fn header_names() {
        assert!(check_header("X-Forwarded-For").is_ok());
        assert!(check_header("x-forwarded-proto").is_ok());
        assert!(check_header("X-Evil").unwrap_err().contains("X-Forwarded-For"));
    }
}
