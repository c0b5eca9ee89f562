//! Trusted proxy headers (WSGITrustedProxyHeaders / WSGITrustedProxies, reference §3.4):
//! headers a front-end proxy sets to describe the original request, applied to the environ
//! only when named trusted, and only from a trusted peer when a proxy list is given.

use std::net::IpAddr;

use crate::config::proxies::{CATEGORIES, CLIENT, HOST, Network, PORT, SCHEME, SCRIPT, SERVER, environ_key};

/// What trusting the proxy headers changed, beyond the environ entries themselves.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Some(true/false) when a scheme header decided https.
    pub https: Option<bool>,
    /// `mod_wsgi.mount_point`, when a script-name header set SCRIPT_NAME.
    pub mount_point: Option<String>,
}

fn get<'a>(env: &'a [(String, String)], key: &str) -> Option<&'a str> {
    env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn set(env: &mut Vec<(String, String)>, key: &str, value: String) {
    match env.iter_mut().find(|(k, _)| k == key) {
        Some(entry) => entry.1 = value,
        None => env.push((key.to_string(), value)),
    }
}

/// Applies the trusted headers to `env` for a request from `peer`.
pub fn apply(env: &mut Vec<(String, String)>, trusted: &[String], proxies: &[Network], peer: &str) -> Applied {
    let trusted_keys: Vec<String> = trusted.iter().map(|h| environ_key(h)).collect();
    let peer_ip: Option<IpAddr> = peer.parse().ok();
    let peer_trusted = proxies.is_empty() || peer_ip.is_some_and(|ip| proxies.iter().any(|n| n.contains(&ip)));
    let mut applied = Applied::default();
    for category in CATEGORIES {
        let Some(key) = category.iter().find(|k| trusted_keys.iter().any(|t| t == *k)) else { continue };
        // The other synonyms of a trusted category never reach the application: it could not
        // tell a spoofed one from the real one.
        env.retain(|(k, _)| k == key || !category.contains(&k.as_str()));
        if !peer_trusted {
            env.retain(|(k, _)| k != key);
            continue;
        }
        let Some(value) = get(env, key).map(str::to_string) else { continue };
        match *category {
            c if c == CLIENT => {
                let client = if *key == "HTTP_X_FORWARDED_FOR" { forwarded_client(&value, proxies, env, key) } else { value.trim().to_string() };
                if !client.is_empty() {
                    set(env, "REMOTE_ADDR", client);
                }
            }
            c if c == HOST => set(env, "HTTP_HOST", value.trim().to_string()),
            c if c == SERVER => set(env, "SERVER_NAME", value.trim().to_string()),
            c if c == PORT => set(env, "SERVER_PORT", value.trim().to_string()),
            c if c == SCRIPT => {
                let script = value.trim().trim_end_matches('/').to_string();
                set(env, "SCRIPT_NAME", script.clone());
                applied.mount_point = Some(script);
            }
            c if c == SCHEME => match value.trim().to_ascii_lowercase().as_str() {
                "https" => applied.https = Some(true),
                "http" => applied.https = Some(false),
                _ => {}
            },
            _ => match value.trim().to_ascii_lowercase().as_str() {
                "on" | "true" | "1" => applied.https = Some(true),
                "off" | "false" | "0" => applied.https = Some(false),
                _ => {}
            },
        }
    }
    applied
}

/// X-Forwarded-For: without a proxy list the first address; with one, walking from the right
/// past trusted proxies, the first untrusted address (and the header is cut there).
/// With a proxy list, as mod_wsgi 6 does: walking from the right over the trusted proxies,
/// the client is the hop just before them, and X-Forwarded-For is rewritten to start at that
/// client (what came before it could have been made up by the client). When the last hop is
/// not a trusted proxy, it is the client and the whole header.
fn forwarded_client(value: &str, proxies: &[Network], env: &mut Vec<(String, String)>, key: &str) -> String {
    let hops: Vec<&str> = value.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    if proxies.is_empty() {
        return hops.first().map(|s| s.to_string()).unwrap_or_default();
    }
    let Some(last) = hops.len().checked_sub(1) else { return String::new() };
    let trusted = |h: &str| h.parse::<IpAddr>().is_ok_and(|ip| proxies.iter().any(|n| n.contains(&ip)));
    let mut first_trusted = None;
    for i in (0..hops.len()).rev() {
        if !trusted(hops[i]) {
            break;
        }
        first_trusted = Some(i);
    }
    let client = match first_trusted {
        Some(i) => i.saturating_sub(1),
        None => last,
    };
    let kept = if first_trusted.is_some() { &hops[client..] } else { &hops[last..] };
    set(env, key, kept.join(", "));
    hops[client].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn forwarded_for_without_proxy_list_takes_the_first_and_drops_synonyms() {
        let mut e = env(&[("REMOTE_ADDR", "127.0.0.1"), ("HTTP_X_FORWARDED_FOR", "1.2.3.4, 10.0.0.1"), ("HTTP_X_REAL_IP", "6.6.6.6")]);
        apply(&mut e, &["X-Forwarded-For".into()], &[], "127.0.0.1");
        assert_eq!(get(&e, "REMOTE_ADDR"), Some("1.2.3.4"));
        assert_eq!(get(&e, "HTTP_X_REAL_IP"), None);
    }

    #[test]
    fn forwarded_for_with_proxy_list_walks_from_the_right() {
        let proxies = vec![Network::parse("10.0.0.0/8").unwrap(), Network::parse("127.0.0.1").unwrap()];
        let mut e = env(&[("REMOTE_ADDR", "127.0.0.1"), ("HTTP_X_FORWARDED_FOR", "6.6.6.6, 1.2.3.4, 10.0.0.2")]);
        apply(&mut e, &["X-Forwarded-For".into()], &proxies, "127.0.0.1");
        assert_eq!(get(&e, "REMOTE_ADDR"), Some("1.2.3.4"));
        assert_eq!(get(&e, "HTTP_X_FORWARDED_FOR"), Some("1.2.3.4, 10.0.0.2"));
        // the last hop not trusted: it is the client
        let mut e = env(&[("REMOTE_ADDR", "127.0.0.1"), ("HTTP_X_FORWARDED_FOR", "6.6.6.6, 1.2.3.4")]);
        apply(&mut e, &["X-Forwarded-For".into()], &proxies, "127.0.0.1");
        assert_eq!((get(&e, "REMOTE_ADDR"), get(&e, "HTTP_X_FORWARDED_FOR")), (Some("1.2.3.4"), Some("1.2.3.4")));
        // every hop trusted: the first is the client
        let mut e = env(&[("REMOTE_ADDR", "127.0.0.1"), ("HTTP_X_FORWARDED_FOR", "10.0.0.5, 127.0.0.1")]);
        apply(&mut e, &["X-Forwarded-For".into()], &proxies, "127.0.0.1");
        assert_eq!(get(&e, "REMOTE_ADDR"), Some("10.0.0.5"));
    }

    #[test]
    fn untrusted_peer_changes_nothing_and_loses_the_headers() {
        let proxies = vec![Network::parse("10.0.0.0/8").unwrap()];
        let mut e = env(&[("REMOTE_ADDR", "8.8.8.8"), ("HTTP_X_FORWARDED_FOR", "1.2.3.4"), ("HTTP_X_CLIENT_IP", "5.5.5.5"), ("HTTP_X_OTHER", "kept")]);
        let applied = apply(&mut e, &["X-Forwarded-For".into()], &proxies, "8.8.8.8");
        assert_eq!(applied, Applied::default());
        assert_eq!(get(&e, "REMOTE_ADDR"), Some("8.8.8.8"));
        assert_eq!(get(&e, "HTTP_X_FORWARDED_FOR"), None);
        assert_eq!(get(&e, "HTTP_X_CLIENT_IP"), None);
        assert_eq!(get(&e, "HTTP_X_OTHER"), Some("kept"));
    }

    #[test]
    fn host_port_script_and_scheme() {
        let mut e = env(&[
            ("HTTP_HOST", "backend:8000"),
            ("HTTP_X_FORWARDED_HOST", "www.example.org"),
            ("HTTP_X_FORWARDED_PORT", "443"),
            ("HTTP_X_SCRIPT_NAME", "/app/"),
            ("SCRIPT_NAME", ""),
            ("HTTP_X_FORWARDED_PROTO", "https"),
        ]);
        let trusted: Vec<String> = ["X-Forwarded-Host", "X-Forwarded-Port", "X-Script-Name", "X-Forwarded-Proto"].iter().map(|s| s.to_string()).collect();
        let applied = apply(&mut e, &trusted, &[], "127.0.0.1");
        assert_eq!(get(&e, "HTTP_HOST"), Some("www.example.org"));
        assert_eq!(get(&e, "SERVER_PORT"), Some("443"));
        assert_eq!(get(&e, "SCRIPT_NAME"), Some("/app"));
        assert_eq!(applied, Applied { https: Some(true), mount_point: Some("/app".into()) });
        let mut e = env(&[("HTTP_X_FORWARDED_SSL", "off")]);
        assert_eq!(apply(&mut e, &["X-Forwarded-SSL".into()], &[], "127.0.0.1").https, Some(false));
    }
}
