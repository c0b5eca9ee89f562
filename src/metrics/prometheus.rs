//! A snapshot of the shared counters in Prometheus' text format (version 0.0.4).

use super::table::{BUCKETS, Kind, Phase, ProcessFigures, RestartReason, Snapshot};
use std::fmt::Write;

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// CPU seconds and resident bytes of a process, if it can be read.
pub type Usage<'a> = &'a dyn Fn(u32) -> Option<(f64, u64)>;

fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn mode(group: &str) -> &'static str {
    if group.is_empty() { "embedded" } else { "daemon" }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn number(v: f64) -> String {
    if v.is_finite() { format!("{v}") } else { "NaN".into() }
}

pub fn render(s: &Snapshot, usage: Usage<'_>) -> String {
    let mut out = String::new();
    let g = |i: usize| s.groups.get(i).map(|g| g.name.as_str()).unwrap_or("");

    family(&mut out, "mod_wsgi_rs_requests_total", "counter", "Requests answered, by process group and status class (no response counts as 5xx).");
    for grp in &s.groups {
        for (c, n) in grp.requests.iter().enumerate() {
            let _ = writeln!(out, "mod_wsgi_rs_requests_total{{mode=\"{}\",process_group=\"{}\",status_class=\"{}xx\"}} {n}", mode(&grp.name), label(&grp.name), c + 1);
        }
    }

    family(&mut out, "mod_wsgi_rs_request_phase_seconds", "histogram",
        "Time of each phase of a request: queue (Apache child to daemon thread), daemon (accepted to application), application, gil_wait.");
    for grp in &s.groups {
        for (phase, h) in Phase::ALL.iter().zip(&grp.phases) {
            // queue and daemon only exist in daemon mode
            if grp.name.is_empty() && matches!(phase, Phase::Queue | Phase::Daemon) {
                continue;
            }
            let labels = format!("mode=\"{}\",process_group=\"{}\",phase=\"{}\"", mode(&grp.name), label(&grp.name), phase.label());
            let mut cumulative = 0;
            for (i, n) in h.buckets.iter().enumerate() {
                cumulative += n;
                let le = BUCKETS.get(i).map(|b| number(*b)).unwrap_or_else(|| "+Inf".into());
                let _ = writeln!(out, "mod_wsgi_rs_request_phase_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}");
            }
            let _ = writeln!(out, "mod_wsgi_rs_request_phase_seconds_sum{{{labels}}} {}", number(h.sum_seconds));
            let _ = writeln!(out, "mod_wsgi_rs_request_phase_seconds_count{{{labels}}} {}", h.count);
        }
    }

    family(&mut out, "mod_wsgi_rs_threads", "gauge", "Request threads of the live processes of a group, busy or idle.");
    for (i, grp) in s.groups.iter().enumerate() {
        let of = |p: &&ProcessFigures| p.group == i && (i != 0 || p.kind == Kind::ApacheChild);
        let (threads, busy) = s.processes.iter().filter(of).fold((0, 0), |(t, b), p| (t + p.threads, b + p.active));
        if threads == 0 {
            continue;
        }
        for (state, n) in [("busy", busy), ("idle", threads.saturating_sub(busy))] {
            let _ = writeln!(out, "mod_wsgi_rs_threads{{mode=\"{}\",process_group=\"{}\",state=\"{state}\"}} {n}", mode(&grp.name), label(&grp.name));
        }
    }

    family(&mut out, "mod_wsgi_rs_daemon_restarts_total", "counter", "Daemon processes replaced, by reason.");
    for grp in s.groups.iter().filter(|g| !g.name.is_empty()) {
        for (reason, n) in RestartReason::ALL.iter().zip(grp.restarts) {
            let _ = writeln!(out, "mod_wsgi_rs_daemon_restarts_total{{process_group=\"{}\",reason=\"{}\"}} {n}", label(&grp.name), reason.label());
        }
    }

    family(&mut out, "mod_wsgi_rs_reloads_total", "counter", "Code reloads: a changed script reloaded (embedded) or a new daemon generation for it.");
    for grp in &s.groups {
        let _ = writeln!(out, "mod_wsgi_rs_reloads_total{{mode=\"{}\",process_group=\"{}\"}} {}", mode(&grp.name), label(&grp.name), grp.reloads);
    }

    let per_process: Vec<(&ProcessFigures, Option<(f64, u64)>, String)> = s
        .processes
        .iter()
        .map(|p| {
            let kind = if p.kind == Kind::DaemonProcess { "daemon" } else { "apache_child" };
            (p, usage(p.pid), format!("pid=\"{}\",process_group=\"{}\",kind=\"{kind}\"", p.pid, label(g(p.group))))
        })
        .collect();
    family(&mut out, "mod_wsgi_rs_process_requests_total", "counter", "Requests a live process has served (mod_wsgi.process_metrics()['request_count']).");
    for (p, _, labels) in &per_process {
        let _ = writeln!(out, "mod_wsgi_rs_process_requests_total{{{labels}}} {}", p.requests);
    }
    family(&mut out, "mod_wsgi_rs_process_resident_memory_bytes", "gauge", "Resident memory of a live process.");
    for (_, u, labels) in &per_process {
        if let Some((_, rss)) = u {
            let _ = writeln!(out, "mod_wsgi_rs_process_resident_memory_bytes{{{labels}}} {rss}");
        }
    }
    family(&mut out, "mod_wsgi_rs_process_cpu_seconds_total", "counter", "User and system CPU time of a live process.");
    for (_, u, labels) in &per_process {
        if let Some((cpu, _)) = u {
            let _ = writeln!(out, "mod_wsgi_rs_process_cpu_seconds_total{{{labels}}} {}", number(*cpu));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::table::{Table, WORDS};
    use super::*;
    use std::sync::atomic::AtomicU64;
    use std::time::Duration;

    #[test]
    fn renders_families_with_cumulative_buckets_and_escaped_labels() {
        let words: Vec<AtomicU64> = (0..WORDS).map(|_| AtomicU64::new(0)).collect();
        let t = Table::over(Box::leak(words.into_boxed_slice())).unwrap();
        t.name_groups(["we\"b"]);
        let slot = t.claim(9, 1, Kind::DaemonProcess, 4, |_| true).unwrap();
        slot.request_started();
        slot.request_finished(503, Duration::from_millis(2), Duration::ZERO);
        slot.daemon_times(Duration::from_millis(1), Duration::ZERO);
        t.add_restart(1, RestartReason::Signal);
        let text = render(&t.snapshot(|_| true), &|_| Some((1.5, 4096)));
        assert!(text.contains("mod_wsgi_rs_requests_total{mode=\"daemon\",process_group=\"we\\\"b\",status_class=\"5xx\"} 1"), "{text}");
        assert!(text.contains("phase=\"application\",le=\"0.0025\"} 1"), "{text}");
        assert!(text.contains("phase=\"application\",le=\"+Inf\"} 1"), "{text}");
        assert!(text.contains("mod_wsgi_rs_daemon_restarts_total{process_group=\"we\\\"b\",reason=\"signal\"} 1"));
        assert!(text.contains("mod_wsgi_rs_threads{mode=\"daemon\",process_group=\"we\\\"b\",state=\"idle\"} 4"));
        assert!(text.contains("mod_wsgi_rs_process_resident_memory_bytes{pid=\"9\",process_group=\"we\\\"b\",kind=\"daemon\"} 4096"));
        assert!(!text.contains("mode=\"embedded\",process_group=\"\",phase=\"queue\""), "no queue phase in embedded mode");
    }
}
