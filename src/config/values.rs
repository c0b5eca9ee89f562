//! Parsers for directive values, each returning an error that says what to write instead.

/// `On`/`Off`, case-insensitive, as Apache's FLAG directives accept.
pub fn parse_on_off(directive: &str, value: &str) -> Result<bool, String> {
    if value.eq_ignore_ascii_case("on") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("off") {
        Ok(false)
    } else {
        Err(format!("{directive} takes On or Off, not '{value}'"))
    }
}

/// How a HEAD request is presented to the application (WSGIMapHEADToGET).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadMapping {
    Off,
    On,
    /// GET only when a content-level output filter might need the body.
    Auto,
}

pub fn parse_head_mapping(value: &str) -> Result<HeadMapping, String> {
    match value.to_ascii_lowercase().as_str() {
        "on" => Ok(HeadMapping::On),
        "off" => Ok(HeadMapping::Off),
        "auto" => Ok(HeadMapping::Auto),
        _ => Err(format!("WSGIMapHEADToGET takes On, Off or Auto, not '{value}'")),
    }
}

/// A process or application group as written in the config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupSpec {
    /// `%{GLOBAL}`: embedded process group / main interpreter.
    Global,
    /// `%{SERVER}`, `%{HOST}`, `%{RESOURCE}`, `%{ENV:x}` or a literal name.
    Other(String),
}

impl GroupSpec {
    pub fn parse(value: &str) -> GroupSpec {
        if value == "%{GLOBAL}" { GroupSpec::Global } else { GroupSpec::Other(value.to_string()) }
    }
}

/// A non-negative integer within `max`.
pub fn parse_uint(directive: &str, value: &str, max: u64) -> Result<u64, String> {
    match value.parse::<u64>() {
        Ok(n) if n <= max => Ok(n),
        _ => Err(format!("{directive} takes a whole number from 0 to {max}, not '{value}'")),
    }
}

/// WSGIPythonHashSeed: `random` or 0..=4294967295.
pub fn parse_hash_seed(value: &str) -> Result<Option<u32>, String> {
    if value.eq_ignore_ascii_case("random") {
        return Ok(None);
    }
    value
        .parse::<u32>()
        .map(Some)
        .map_err(|_| format!("WSGIPythonHashSeed takes 'random' or a number from 0 to 4294967295, not '{value}'"))
}

/// A Python identifier (WSGICallableObject, callable-object=) or `%{ENV:var}`.
pub fn parse_callable_name(directive: &str, value: &str) -> Result<String, String> {
    let is_env = value.starts_with("%{ENV:") && value.ends_with('}') && value.len() > 7;
    let is_identifier = value.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && value.chars().all(|c| c.is_alphanumeric() || c == '_');
    if is_env || is_identifier {
        Ok(value.to_string())
    } else {
        Err(format!(
            "{directive} takes the name of a global in the script (e.g. 'application', no dots) or %{{ENV:variable}}, not '{value}'"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_off() {
        assert_eq!(parse_on_off("X", "ON"), Ok(true));
        assert_eq!(parse_on_off("X", "off"), Ok(false));
        let err = parse_on_off("WSGIPassAuthorization", "Maybe").unwrap_err();
        assert!(err.contains("On or Off") && err.contains("Maybe"), "{err}");
    }

    #[test]
    fn head_mapping_and_seed() {
        assert_eq!(parse_head_mapping("AUTO"), Ok(HeadMapping::Auto));
        assert!(parse_head_mapping("sometimes").is_err());
        assert_eq!(parse_hash_seed("random"), Ok(None));
        assert_eq!(parse_hash_seed("4294967295"), Ok(Some(u32::MAX)));
        assert!(parse_hash_seed("4294967296").is_err());
        assert!(parse_hash_seed("-1").is_err());
    }

    #[test]
    fn callable_names() {
        assert!(parse_callable_name("C", "app_2").is_ok());
        assert!(parse_callable_name("C", "%{ENV:APP}").is_ok());
        assert!(parse_callable_name("C", "pkg.app").is_err());
        assert!(parse_callable_name("C", "2x").is_err());
    }

    #[test]
    fn groups() {
        assert_eq!(GroupSpec::parse("%{GLOBAL}"), GroupSpec::Global);
        assert_eq!(GroupSpec::parse("web"), GroupSpec::Other("web".into()));
    }
}
