//! Expanding an application group (`%{GLOBAL}`, `%{SERVER}`, `%{HOST}`, `%{RESOURCE}`,
//! `%{ENV:var}`, literal) into the name of an interpreter, per request.

use super::GroupSpec;

/// What a request contributes to the expansion.
pub struct RequestFacts<'a> {
    pub server_name: &'a str,
    pub port: u16,
    /// Host header without port.
    pub host: Option<&'a str>,
    pub script_name: &'a str,
    /// SetEnv/SetEnvIf/RewriteRule [E=] variables, then the process environment.
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

fn with_port(name: &str, port: u16) -> String {
    if port == 80 || port == 443 || port == 0 { name.to_string() } else { format!("{name}:{port}") }
}

/// The interpreter name ("" = main interpreter). Default (no directive): `%{RESOURCE}`.
pub fn expand(spec: Option<&GroupSpec>, facts: &RequestFacts<'_>) -> String {
    match spec {
        None => expand_value("%{RESOURCE}", facts, 0),
        Some(GroupSpec::Global) => String::new(),
        Some(GroupSpec::Other(v)) => expand_value(v, facts, 0),
    }
}

fn expand_value(value: &str, facts: &RequestFacts<'_>, depth: u8) -> String {
    match value {
        "%{GLOBAL}" => String::new(),
        "%{SERVER}" => with_port(facts.server_name, facts.port),
        "%{HOST}" => with_port(facts.host.filter(|h| !h.is_empty()).unwrap_or(facts.server_name), facts.port),
        "%{RESOURCE}" => format!("{}|{}", with_port(facts.server_name, facts.port), facts.script_name),
        _ => match value.strip_prefix("%{ENV:").and_then(|v| v.strip_suffix('}')) {
            // A value that is itself a %{...} form is expanded once more (mod_wsgi does).
            Some(name) => match (facts.env)(name) {
                Some(v) if v.starts_with('%') && depth == 0 => expand_value(&v, facts, 1),
                Some(v) => v,
                None => value.to_string(),
            },
            None => value.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(env: &'a dyn Fn(&str) -> Option<String>) -> RequestFacts<'a> {
        RequestFacts { server_name: "localhost", port: 8061, host: Some("example.org"), script_name: "/emb/t", env }
    }

    #[test]
    fn forms() {
        let env = |k: &str| match k {
            "APP" => Some("custom".to_string()),
            "INDIRECT" => Some("%{SERVER}".to_string()),
            _ => None,
        };
        let f = facts(&env);
        assert_eq!(expand(Some(&GroupSpec::Global), &f), "");
        assert_eq!(expand(None, &f), "localhost:8061|/emb/t");
        let g = |v: &str| expand(Some(&GroupSpec::Other(v.into())), &f);
        assert_eq!(g("%{SERVER}"), "localhost:8061");
        assert_eq!(g("%{HOST}"), "example.org:8061");
        assert_eq!(g("%{RESOURCE}"), "localhost:8061|/emb/t");
        assert_eq!(g("%{ENV:APP}"), "custom");
        assert_eq!(g("%{ENV:INDIRECT}"), "localhost:8061");
        assert_eq!(g("%{ENV:MISSING}"), "%{ENV:MISSING}");
        assert_eq!(g("literal"), "literal");
        let on80 = RequestFacts { port: 80, ..facts(&env) };
        assert_eq!(expand(Some(&GroupSpec::Other("%{SERVER}".into())), &on80), "localhost");
    }
}
