//! WSGITelemetryService, WSGISlowRequests and WSGITelemetryOptions (mod_wsgi 6.1.1,
//! `wsgi_telemetry.c`). Each error starts with mod_wsgi's own text, so a search for it finds
//! mod_wsgi's documentation, and then says what to write instead.

/// Default WSGITelemetryService interval, seconds (mod_wsgi's `wsgi_telemetry_interval`).
pub const DEFAULT_INTERVAL: f64 = 1.0;

/// WSGITelemetryOptions CaptureUserAgent: slow-request records carry the User-Agent.
pub const CAPTURE_USER_AGENT: u32 = 0x01;
const ALL: u32 = CAPTURE_USER_AGENT;

/// What the three directives set. They are server-wide (process globals in mod_wsgi), so
/// repeated lines fold into one of these in config order (`apply`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TelemetrySettings {
    /// The socket path, without `unix:`. None: telemetry is off.
    pub socket: Option<String>,
    /// Only a line with `interval=` changes it (a later line without one keeps it).
    pub interval: Option<f64>,
    /// WSGISlowRequests in µs, truncated as mod_wsgi does; 0 means off.
    pub slow_threshold_us: Option<u64>,
    pub options: Option<OptionsChange>,
}

/// One WSGITelemetryOptions line: absolute names replace the flags, `+`/`-` edit them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionsChange {
    Absolute(u32),
    Incremental { set: u32, clear: u32 },
}

impl OptionsChange {
    pub fn applied_to(self, current: u32) -> u32 {
        match self {
            OptionsChange::Absolute(bits) => bits,
            OptionsChange::Incremental { set, clear } => (current | set) & !clear,
        }
    }
}

impl TelemetrySettings {
    pub fn apply(&mut self, more: &TelemetrySettings) {
        self.socket = more.socket.clone().or(self.socket.take());
        self.interval = more.interval.or(self.interval);
        self.slow_threshold_us = more.slow_threshold_us.or(self.slow_threshold_us);
        self.options = match (self.options, more.options) {
            (cur, None) => cur,
            (cur, Some(change)) => Some(OptionsChange::Absolute(change.applied_to(cur.map_or(0, |c| c.applied_to(0))))),
        };
    }

    pub fn interval(&self) -> f64 {
        self.interval.unwrap_or(DEFAULT_INTERVAL)
    }

    pub fn flags(&self) -> u32 {
        self.options.map_or(0, |c| c.applied_to(0))
    }

    pub fn capture_user_agent(&self) -> bool {
        self.flags() & CAPTURE_USER_AGENT != 0
    }
}

/// The longest prefix of `s` that C's `atof` reads as a decimal number, as f64; 0.0 when there
/// is none (`atof("abc")`, `atof("")`). `Err` for the NaN and infinity spellings `atof` also
/// reads: mod_wsgi lets NaN through its range checks by accident.
pub fn atof(s: &str) -> Result<f64, ()> {
    let s = s.trim_start();
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let rest = s[i..].to_ascii_lowercase();
    if rest.starts_with("inf") || rest.starts_with("nan") {
        return Err(());
    }
    let digits_from = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if !s[digits_from..i].bytes().any(|c| c.is_ascii_digit()) {
        return Ok(0.0);
    }
    // An exponent counts only if digits follow it ("1e" reads as 1).
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            i = j;
        }
    }
    let v: f64 = s[..i].parse().map_err(|_| ())?;
    if v.is_finite() { Ok(v) } else { Err(()) }
}

const SERVICE_HELP: &str = "Push telemetry to a metrics service. Args: unix:/path [interval=N]";

pub fn parse_service(words: &[String]) -> Result<TelemetrySettings, String> {
    let (target, second) = match words {
        [t] => (t, None),
        [t, s] => (t, Some(s)),
        _ => return Err(format!("WSGITelemetryService takes 1-2 arguments, {SERVICE_HELP}")),
    };
    if target.is_empty() {
        return Err("WSGITelemetryService target required; write WSGITelemetryService unix:/path/to/telemetry.sock".into());
    }
    let Some(path) = target.strip_prefix("unix:") else {
        return Err(format!(
            "WSGITelemetryService target must be 'unix:/path' (remote 'udp:host:port' targets are no longer supported); \
             write unix: and the receiver's socket path, e.g. unix:/run/telemetry.sock, not '{target}'"
        ));
    };
    let mut out = TelemetrySettings { socket: Some(path.to_string()), ..Default::default() };
    if let Some(second) = second {
        let Some(value) = second.strip_prefix("interval=") else {
            return Err(format!("WSGITelemetryService second argument must be 'interval=N', e.g. interval=1.0, not '{second}'"));
        };
        match atof(value) {
            Ok(v) if v >= 0.5 => out.interval = Some(v),
            Ok(_) => {
                return Err(format!(
                    "WSGITelemetryService interval must be at least 0.5 seconds; write e.g. interval=1.0, not interval={value}"
                ));
            }
            Err(()) => {
                return Err(format!(
                    "WSGITelemetryService interval must be a finite number of seconds, at least 0.5; write e.g. interval=1.0, not interval={value}"
                ));
            }
        }
    }
    Ok(out)
}

pub fn parse_slow_requests(words: &[String]) -> Result<TelemetrySettings, String> {
    let [arg] = words else {
        return Err("WSGISlowRequests takes one argument, Enable slow-request reporting. Arg: threshold in seconds.".into());
    };
    if arg.is_empty() {
        return Err("WSGISlowRequests threshold (seconds) required; write e.g. WSGISlowRequests 2.0".into());
    }
    let seconds = atof(arg).map_err(|()| {
        format!("WSGISlowRequests threshold must be a finite number of seconds; write e.g. WSGISlowRequests 2.0 (0 turns it off), not '{arg}'")
    })?;
    if seconds < 0.0 {
        return Err(format!("WSGISlowRequests threshold must be non-negative; write e.g. 2.0 (0 turns it off), not '{arg}'"));
    }
    // `(apr_time_t)(seconds * 1e6)`: truncated, so below 1 µs means off.
    Ok(TelemetrySettings { slow_threshold_us: Some((seconds * 1e6) as u64), ..Default::default() })
}

pub fn parse_options(words: &[String]) -> Result<TelemetrySettings, String> {
    const FLAGS: &str = "write CaptureUserAgent, +CaptureUserAgent, -CaptureUserAgent, None or All";
    if words.is_empty() {
        return Err(format!("WSGITelemetryOptions: at least one flag required; {FLAGS}"));
    }
    let (mut set, mut clear, mut absolute) = (0u32, 0u32, 0u32);
    let (mut seen_incremental, mut seen_absolute) = (false, false);
    for token in words {
        let (sign, name) = match token.as_bytes().first() {
            Some(b'+') => (Some(true), &token[1..]),
            Some(b'-') => (Some(false), &token[1..]),
            _ => (None, token.as_str()),
        };
        if sign.is_some() && name.is_empty() {
            return Err(format!("WSGITelemetryOptions: bare '+' / '-' is not a flag; {FLAGS}"));
        }
        if sign.is_some() {
            seen_incremental = true;
        } else {
            seen_absolute = true;
        }
        if seen_incremental && seen_absolute {
            return Err(format!(
                "WSGITelemetryOptions: cannot mix +/- form with absolute names in a single directive; write '{}' on a line of its own",
                token
            ));
        }
        let bits = if name.eq_ignore_ascii_case("none") || name.eq_ignore_ascii_case("all") {
            let word = if name.eq_ignore_ascii_case("none") { "None" } else { "All" };
            if sign.is_some() {
                return Err(format!("WSGITelemetryOptions: '{word}' may not have a +/- prefix; write {word} alone"));
            }
            absolute = if word == "None" { 0 } else { ALL };
            continue;
        } else if name.eq_ignore_ascii_case("CaptureUserAgent") {
            CAPTURE_USER_AGENT
        } else {
            return Err(format!("WSGITelemetryOptions: unknown flag '{name}'; the only flag is CaptureUserAgent ({FLAGS})"));
        };
        match sign {
            Some(true) => {
                set |= bits;
                clear &= !bits;
            }
            Some(false) => {
                clear |= bits;
                set &= !bits;
            }
            None => absolute |= bits,
        }
    }
    let change = if seen_incremental { OptionsChange::Incremental { set, clear } } else { OptionsChange::Absolute(absolute) };
    Ok(TelemetrySettings { options: Some(change), ..Default::default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        super::super::words::split_words(s)
    }

    #[test]
    fn atof_reads_a_prefix_like_c() {
        assert_eq!(atof("2.5"), Ok(2.5));
        assert_eq!(atof("  2s"), Ok(2.0));
        assert_eq!(atof("abc"), Ok(0.0));
        assert_eq!(atof(""), Ok(0.0));
        assert_eq!(atof("-1"), Ok(-1.0));
        assert_eq!(atof(".5x"), Ok(0.5));
        assert_eq!(atof("1e3"), Ok(1000.0));
        assert_eq!(atof("1e"), Ok(1.0));
        assert_eq!(atof("+3."), Ok(3.0));
        assert!(atof("nan").is_err() && atof("-Inf").is_err() && atof("1e999").is_err());
    }

    #[test]
    fn service_target_and_interval() {
        let s = parse_service(&w("unix:/run/t.sock")).unwrap();
        assert_eq!((s.socket.as_deref(), s.interval), (Some("/run/t.sock"), None));
        let s = parse_service(&w("unix:/run/t.sock interval=2.5")).unwrap();
        assert_eq!(s.interval, Some(2.5));
        // Accepted as mod_wsgi does: the path is checked when the reporter opens it.
        assert_eq!(parse_service(&w("unix:")).unwrap().socket.as_deref(), Some(""));
        let e = parse_service(&w("udp:host:9000")).unwrap_err();
        assert!(e.starts_with("WSGITelemetryService target must be 'unix:/path' (remote 'udp:host:port' targets are no longer supported)"), "{e}");
        assert!(parse_service(&w("UNIX:/x")).is_err(), "the prefix is case-sensitive");
        let e = parse_service(&w("unix:/x every=2")).unwrap_err();
        assert!(e.starts_with("WSGITelemetryService second argument must be 'interval=N'"), "{e}");
        let e = parse_service(&w("unix:/x interval=0.4")).unwrap_err();
        assert!(e.starts_with("WSGITelemetryService interval must be at least 0.5 seconds"), "{e}");
        assert!(parse_service(&w("unix:/x interval=abc")).unwrap_err().contains("at least 0.5"));
        assert!(parse_service(&w("unix:/x interval=nan")).unwrap_err().contains("finite"));
        assert_eq!(parse_service(&w("unix:/x interval=0.5")).unwrap().interval, Some(0.5));
        let e = parse_service(&w("")).unwrap_err();
        assert!(e.starts_with("WSGITelemetryService takes 1-2 arguments, Push telemetry"), "{e}");
        assert!(parse_service(&w("unix:/x interval=1 more")).unwrap_err().contains("takes 1-2 arguments"));
    }

    #[test]
    fn later_service_lines_keep_an_earlier_interval() {
        let mut t = TelemetrySettings::default();
        t.apply(&parse_service(&w("unix:/a interval=3")).unwrap());
        t.apply(&parse_service(&w("unix:/b")).unwrap());
        assert_eq!((t.socket.as_deref(), t.interval()), (Some("/b"), 3.0));
        assert_eq!(TelemetrySettings::default().interval(), 1.0);
    }

    #[test]
    fn slow_threshold() {
        assert_eq!(parse_slow_requests(&w("2.0")).unwrap().slow_threshold_us, Some(2_000_000));
        assert_eq!(parse_slow_requests(&w("0.0000015")).unwrap().slow_threshold_us, Some(1));
        assert_eq!(parse_slow_requests(&w("0.0000001")).unwrap().slow_threshold_us, Some(0));
        assert_eq!(parse_slow_requests(&w("off")).unwrap().slow_threshold_us, Some(0), "atof: junk reads as 0, which is off");
        let e = parse_slow_requests(&w("-1")).unwrap_err();
        assert!(e.starts_with("WSGISlowRequests threshold must be non-negative"), "{e}");
        assert!(parse_slow_requests(&w("1 2")).unwrap_err().starts_with("WSGISlowRequests takes one argument"));
        assert!(parse_slow_requests(&w("''")).unwrap_err().starts_with("WSGISlowRequests threshold (seconds) required"));
        assert!(parse_slow_requests(&w("inf")).unwrap_err().contains("finite"));
    }

    #[test]
    fn options_forms() {
        let flags = |lines: &[&str]| {
            let mut t = TelemetrySettings::default();
            for l in lines {
                t.apply(&parse_options(&w(l)).unwrap());
            }
            t.flags()
        };
        assert_eq!(flags(&["CaptureUserAgent"]), 1);
        assert_eq!(flags(&["captureuseragent"]), 1);
        assert_eq!(flags(&["All"]), 1);
        assert_eq!(flags(&["CaptureUserAgent None"]), 0, "tokens apply in order");
        assert_eq!(flags(&["+CaptureUserAgent"]), 1);
        assert_eq!(flags(&["All", "-CaptureUserAgent"]), 0);
        assert_eq!(flags(&["+CaptureUserAgent", "+CaptureUserAgent -CaptureUserAgent"]), 0);
        assert_eq!(flags(&["+CaptureUserAgent", "None"]), 0, "an absolute line replaces");
        assert_eq!(flags(&[]), 0, "opt-in");
    }

    #[test]
    fn options_errors() {
        let e = |s: &str| parse_options(&w(s)).unwrap_err();
        assert!(e("").starts_with("WSGITelemetryOptions: at least one flag required"));
        assert!(e("+").starts_with("WSGITelemetryOptions: bare '+' / '-' is not a flag"));
        assert!(e("+CaptureUserAgent None").starts_with("WSGITelemetryOptions: cannot mix +/- form with absolute names in a single directive"));
        assert!(e("CaptureUserAgent -CaptureUserAgent").contains("cannot mix"));
        assert!(e("None +All").contains("cannot mix"));
        assert!(e("+None").starts_with("WSGITelemetryOptions: 'None' may not have a +/- prefix"));
        assert!(e("-all").starts_with("WSGITelemetryOptions: 'All' may not have a +/- prefix"));
        assert!(e("+Bogus").starts_with("WSGITelemetryOptions: unknown flag 'Bogus'"), "{}", e("+Bogus"));
    }
}
