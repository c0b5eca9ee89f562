//! A request as telemetry sees it (WSGITelemetryService): when it arrived, who it is (for
//! slow-request records), and what it did. Costs one atomic load when telemetry is off.

use super::run::Outcome;
use super::state::RequestState;
use crate::telemetry::metrics::{self, Finished, Started};
use crate::telemetry::reporter::now_us;
use crate::telemetry::sample::{LOG_ID_CAP, STRING_CAPS, SlowIdentity, capped};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The application is about to be called. Reads the environ first: the application may
/// change it.
pub fn begin(environ: &Bound<'_, PyDict>) -> Option<Started> {
    if !metrics::enabled() {
        return None;
    }
    let text = |key: &str| -> Option<String> { environ.get_item(key).ok().flatten().and_then(|v| v.extract().ok()) };
    // Floats of whole µs since the epoch, which both modes put in the environ.
    let arrival = ["mod_wsgi.request_start", "mod_wsgi.queue_start", "mod_wsgi.daemon_start"].map(|key| {
        let seconds: f64 = environ.get_item(key).ok().flatten().and_then(|v| v.extract().ok()).unwrap_or(0.0);
        if seconds > 0.0 { (seconds * 1e6).round() as u64 } else { 0 }
    });
    let identity = metrics::slow_identity_wanted().map(|user_agent| slow_identity(&text, user_agent));
    metrics::started(now_us(), arrival, identity)
}

/// Where mod_wsgi takes each slow-record string from (`wsgi_slow_snapshot_fields`), read
/// from the environ both modes build.
fn slow_identity(text: &dyn Fn(&str) -> Option<String>, user_agent: bool) -> SlowIdentity {
    let first = |keys: &[&str]| keys.iter().find_map(|k| text(k)).unwrap_or_default();
    // r->hostname: the Host header without its port.
    let host = text("HTTP_HOST").map(|h| strip_port(&h).to_ascii_lowercase()).or_else(|| text("SERVER_NAME")).unwrap_or_default();
    let strings = [
        first(&["REQUEST_METHOD"]),
        if first(&["wsgi.url_scheme"]) == "https" { "https".into() } else { "http".into() },
        host,
        first(&["mod_wsgi.script_name", "SCRIPT_NAME"]),
        first(&["mod_wsgi.path_info", "PATH_INFO"]),
        first(&["SERVER_PROTOCOL"]),
        first(&["REMOTE_ADDR"]),
        if user_agent { first(&["HTTP_USER_AGENT"]) } else { String::new() },
    ];
    SlowIdentity {
        log_id: capped(&first(&["mod_wsgi.request_id"]), LOG_ID_CAP),
        server_pid: text("mod_wsgi.server_pid").and_then(|p| p.parse().ok()).unwrap_or(0),
        strings: std::array::from_fn(|i| capped(&strings[i], STRING_CAPS[i])),
    }
}

fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty() => name,
        _ => host,
    }
}

/// The application's response is done (iterable closed).
pub fn end(started: Started, st: &RequestState, outcome: &Outcome) {
    let (gil_us, gil_count) = crate::python::gil::gil_waits();
    let (at_start_us, at_start_count) = st.stats.gil_waits_at_start;
    // As mod_wsgi, a request that failed before answering counts as a 500.
    let status = match (outcome, &st.head) {
        (Outcome::Failed, _) | (_, None) => 500,
        (Outcome::Sent, Some(head)) => head.code,
    };
    let finished = Finished {
        finish_us: now_us(),
        thread_cpu_us: (0, 0),
        gil_wait: (gil_us.saturating_sub(at_start_us), gil_count.saturating_sub(at_start_count)),
        input_read_us: st.stats.input_time.as_micros() as u64,
        output_write_us: st.stats.output_time.as_micros() as u64,
        input_bytes: st.stats.input_bytes,
        input_reads: st.stats.input_reads,
        output_bytes: st.body_sent,
        output_writes: st.stats.output_writes,
        status,
    };
    metrics::finished(started, &finished);
}

#[cfg(test)]
mod tests {
    #[test]
    fn host_without_port() {
        assert_eq!(super::strip_port("www.example.com:8080"), "www.example.com");
        assert_eq!(super::strip_port("www.example.com"), "www.example.com");
        assert_eq!(super::strip_port("[::1]:80"), "[::1]");
        assert_eq!(super::strip_port("[::1]"), "[::1]");
    }
}
