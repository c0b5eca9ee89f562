//! What each datagram kind says, and in which order (mod_wsgi 6.1.1's `wsgi_telemetry.c`
//! encoders): pure values in, bytes out.

use super::wire::{Datagram, Kind, field};

/// Who is sending: repeated in every periodic sample so the receiver can place a process it
/// first hears of mid-life.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Identity {
    pub mod_wsgi_version: String,
    pub python_version: String,
    pub apache_version: String,
    pub mpm_name: String,
    pub hostname: String,
    /// Empty in embedded mode (field left out).
    pub process_group: String,
    pub parent_pid: u64,
    /// `sys.getswitchinterval()`; left out when not above 0.
    pub switch_interval: f64,
}

impl Identity {
    fn strings(&self, d: &mut Datagram) {
        d.bytes(field::MOD_WSGI_VERSION, self.mod_wsgi_version.as_bytes());
        d.bytes(field::PYTHON_VERSION, self.python_version.as_bytes());
        d.bytes(field::APACHE_VERSION, self.apache_version.as_bytes());
        d.bytes(field::MPM_NAME, self.mpm_name.as_bytes());
        d.bytes(field::HOSTNAME, self.hostname.as_bytes());
        d.bytes(field::PROCESS_GROUP, self.process_group.as_bytes());
    }

    fn switch(&self, d: &mut Datagram) {
        if self.switch_interval > 0.0 {
            d.f64(field::SWITCH_INTERVAL, self.switch_interval);
        }
    }
}

/// The phases of a request, in field order (60 + index is the mean of each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Server = 0,
    Queue = 1,
    Daemon = 2,
    Application = 3,
    Request = 4,
    GilWait = 5,
    InputRead = 6,
    OutputWrite = 7,
}

pub const PHASES: usize = 8;
pub const BUCKETS: usize = 65;

/// The histogram bucket of a duration: 4 per power of two of milliseconds, [0, 1.25 ms) in
/// the first, 65.536 s and more in the last (`wsgi_record_time_in_buckets`).
pub fn bucket_index(seconds: f64) -> usize {
    let ms = seconds * 1000.0;
    if ms.is_nan() || ms < 1.0 {
        return 0;
    }
    if ms >= 65536.0 {
        return 64;
    }
    // frexp: ms = m * 2^e with m in [0.5, 1); the exponent bits give e directly for normal
    // numbers, which every ms in [1, 65536) is.
    let bits = ms.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i64 - 1022;
    let m = ms / 2f64.powi(e as i32);
    let sub = (((2.0 * m - 1.0) * 4.0) as usize).min(3);
    ((e - 1) as usize) * 4 + sub
}

/// One phase over one tick: exact total, min and max (µs), and the histogram.
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseAggregate {
    pub total: f64,
    pub count: u64,
    pub min_us: u64,
    pub max_us: u64,
    pub buckets: [i32; BUCKETS],
}

impl Default for PhaseAggregate {
    fn default() -> Self {
        PhaseAggregate { total: 0.0, count: 0, min_us: u64::MAX, max_us: 0, buckets: [0; BUCKETS] }
    }
}

impl PhaseAggregate {
    pub fn record(&mut self, us: u64) {
        let seconds = us as f64 / 1e6;
        self.total += seconds;
        self.count += 1;
        self.min_us = self.min_us.min(us);
        self.max_us = self.max_us.max(us);
        self.buckets[bucket_index(seconds)] += 1;
    }
}

/// One worker thread's tick (`request_threads_*` arrays, index = thread slot - 1).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SlotSample {
    pub completed: i32,
    pub busy_us: u64,
    pub cpu_us: u64,
    pub current_elapsed_ms: i32,
    pub max_duration_ms: i32,
}

/// A periodic sample (kind 2): what happened since the previous one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sample {
    pub period: f64,
    pub interval: f64,
    pub slow_threshold: f64,
    pub request_count: u64,
    pub capacity_utilization: f64,
    pub cpu_user: f64,
    pub cpu_system: f64,
    pub memory_rss: u64,
    pub memory_max_rss: u64,
    pub threads_maximum: u64,
    pub threads_started: u64,
    pub threads_active: u64,
    /// A daemon process: queue and daemon phases exist (sent only on a tick with requests).
    pub daemon: bool,
    /// Requests whose times were recorded this tick (the divisor of the means).
    pub recorded: u64,
    pub phases: [PhaseAggregate; PHASES],
    pub input_bytes: u64,
    pub input_reads: u64,
    pub output_bytes: u64,
    pub output_writes: u64,
    /// 1xx .. 5xx.
    pub status: [u64; 5],
    pub slots: Vec<SlotSample>,
}

fn header(kind: Kind, pid: u32, seq: u32, stamp: f64) -> Datagram {
    Datagram::new(kind, pid, seq, stamp)
}

pub fn started(id: &Identity, pid: u32, seq: u32, stamp: f64) -> Vec<u8> {
    let mut d = header(Kind::ProcessStarted, pid, seq, stamp);
    id.strings(&mut d);
    d.u64(field::PROCESS_PARENT_PID, id.parent_pid);
    id.switch(&mut d);
    d.into_bytes()
}

pub fn request(id: &Identity, pid: u32, seq: u32, stamp: f64, s: &Sample) -> Vec<u8> {
    let mut d = header(Kind::Request, pid, seq, stamp);
    id.strings(&mut d);
    d.u64(field::PROCESS_PARENT_PID, id.parent_pid);
    d.f64(field::SAMPLE_PERIOD, s.period);
    d.f64(field::TELEMETRY_INTERVAL, s.interval);
    d.f64(field::SLOW_REQUESTS_THRESHOLD, s.slow_threshold);
    id.switch(&mut d);
    d.u64(field::REQUEST_COUNT, s.request_count);
    d.f64(field::REQUEST_THROUGHPUT, s.request_count as f64 / s.period);
    d.f64(field::CAPACITY_UTILIZATION, s.capacity_utilization);
    d.f64(field::CPU_USER_UTILIZATION, s.cpu_user);
    d.f64(field::CPU_SYSTEM_UTILIZATION, s.cpu_system);
    d.f64(field::CPU_UTILIZATION, s.cpu_user + s.cpu_system);
    d.u64(field::MEMORY_RSS, s.memory_rss);
    d.u64(field::MEMORY_MAX_RSS, s.memory_max_rss);
    d.u64(field::REQUEST_THREADS_MAXIMUM, s.threads_maximum);
    d.u64(field::REQUEST_THREADS_STARTED, s.threads_started);
    d.u64(field::REQUEST_THREADS_ACTIVE, s.threads_active);

    use Phase::*;
    let mean = |p: Phase| if s.recorded > 0 { s.phases[p as usize].total / s.recorded as f64 } else { 0.0 };
    for p in [Server, Application, Request, GilWait, InputRead, OutputWrite] {
        d.f64(field::PHASE_MEAN + p as u16, mean(p));
    }
    let daemon_timing = s.daemon && s.recorded > 0;
    if daemon_timing {
        for p in [Queue, Daemon] {
            d.f64(field::PHASE_MEAN + p as u16, mean(p));
        }
    }
    let min_max = |d: &mut Datagram, p: Phase| {
        let a = &s.phases[p as usize];
        if a.min_us != u64::MAX {
            d.f64(field::PHASE_MIN + p as u16, a.min_us as f64 / 1e6);
            d.f64(field::PHASE_MAX + p as u16, a.max_us as f64 / 1e6);
        }
    };
    for p in [Server, Application, Request, GilWait, InputRead, OutputWrite] {
        min_max(&mut d, p);
    }
    if daemon_timing {
        for p in [Queue, Daemon] {
            min_max(&mut d, p);
        }
    }
    let buckets = |d: &mut Datagram, p: Phase| d.i32s(field::PHASE_BUCKETS + p as u16, &s.phases[p as usize].buckets);
    buckets(&mut d, Server);
    buckets(&mut d, Application);
    if daemon_timing {
        buckets(&mut d, Queue);
        buckets(&mut d, Daemon);
    }
    for p in [Request, GilWait, InputRead, OutputWrite] {
        buckets(&mut d, p);
    }
    d.u64(field::INPUT_BYTES_TOTAL, s.input_bytes);
    d.u64(field::INPUT_READS_TOTAL, s.input_reads);
    d.u64(field::OUTPUT_BYTES_TOTAL, s.output_bytes);
    d.u64(field::OUTPUT_WRITES_TOTAL, s.output_writes);
    for (i, n) in s.status.iter().enumerate() {
        d.u64(field::STATUS_1XX_TOTAL + i as u16, *n);
    }
    if !s.slots.is_empty() {
        let slots = &s.slots;
        d.i32s(field::REQUEST_THREADS_COMPLETED, &slots.iter().map(|x| x.completed).collect::<Vec<_>>());
        d.f64s(field::REQUEST_THREADS_BUSY_TIME, &slots.iter().map(|x| x.busy_us as f64 / 1e6).collect::<Vec<_>>());
        d.f64s(field::REQUEST_THREADS_CPU_TIME, &slots.iter().map(|x| x.cpu_us as f64 / 1e6).collect::<Vec<_>>());
        d.f64s(field::REQUEST_THREADS_CURRENT_ELAPSED, &slots.iter().map(|x| x.current_elapsed_ms as f64 / 1e3).collect::<Vec<_>>());
        d.f64s(field::REQUEST_THREADS_MAX_DURATION, &slots.iter().map(|x| x.max_duration_ms as f64 / 1e3).collect::<Vec<_>>());
    }
    d.into_bytes()
}

pub fn stopping(id: &Identity, pid: u32, seq: u32, stamp: f64, reason: &str, active: u64) -> Vec<u8> {
    let mut d = header(Kind::ProcessStopping, pid, seq, stamp);
    d.bytes(field::HOSTNAME, id.hostname.as_bytes());
    d.bytes(field::PROCESS_GROUP, id.process_group.as_bytes());
    d.bytes(field::SHUTDOWN_REASON, reason.as_bytes());
    d.u64(field::ACTIVE_REQUESTS_AT_DECISION, active);
    d.into_bytes()
}

/// What PROCESS_STOPPED reports.
pub struct Stopped<'a> {
    pub reason: &'a str,
    pub uptime: f64,
    pub lifetime_requests: u64,
    pub active_at_exit: u64,
    pub graceful: bool,
}

pub fn stopped(id: &Identity, pid: u32, seq: u32, stamp: f64, s: &Stopped<'_>) -> Vec<u8> {
    let mut d = header(Kind::ProcessStopped, pid, seq, stamp);
    d.bytes(field::HOSTNAME, id.hostname.as_bytes());
    d.bytes(field::PROCESS_GROUP, id.process_group.as_bytes());
    d.bytes(field::SHUTDOWN_REASON, s.reason.as_bytes());
    d.f64(field::PROCESS_UPTIME, s.uptime);
    d.u64(field::LIFETIME_REQUEST_COUNT, s.lifetime_requests);
    d.u64(field::ACTIVE_REQUESTS_AT_EXIT, s.active_at_exit);
    d.u64(field::GRACEFUL_DRAIN, s.graceful as u64);
    d.into_bytes()
}

/// What identifies a slow request, taken when it starts (each already cut to its cap).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlowIdentity {
    pub log_id: String,
    pub server_pid: u64,
    /// method, scheme, hostname, script_name, path_info, protocol, peer_ip, user_agent
    /// (fields 210..217; empty ones are left out).
    pub strings: [String; 8],
}

/// The byte caps of the slow-record strings, NUL included (`wsgi_telemetry.h`): log_id,
/// then the 210..217 ones.
pub const LOG_ID_CAP: usize = 64;
pub const STRING_CAPS: [usize; 8] = [16, 16, 256, 256, 512, 16, 46, 512];

/// A string cut as mod_wsgi cuts slow-record strings: one that does not fit in `cap` (with
/// its NUL) keeps `cap - 4` bytes and ends in "...". The cut is moved back to a character
/// boundary so the receiver gets valid UTF-8 (mod_wsgi cuts bytes).
pub fn capped(s: &str, cap: usize) -> String {
    if s.len() < cap {
        return s.to_string();
    }
    let mut end = cap.saturating_sub(4);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// A SLOW_REQUEST record (kind 4): a request over WSGISlowRequests, still running (a
/// heartbeat each tick) or completed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlowRecord {
    pub completed: bool,
    pub start_us: u64,
    pub duration_us: u64,
    pub thread_id: u64,
    pub identity: SlowIdentity,
    /// input_bytes, input_reads, output_bytes, output_writes (0 while running).
    pub io: [u64; 4],
    pub cpu_user_us: u64,
    pub cpu_system_us: u64,
    /// server, queue, daemon, application (µs).
    pub phases_us: [u64; 4],
    /// GIL wait µs and count; None where it cannot be read (another thread's running
    /// total), and then left out.
    pub gil_wait: Option<(u64, u64)>,
    pub input_read_us: u64,
    pub output_write_us: u64,
    pub active_at_start: u64,
    pub active_at_completion: u64,
    /// 0 while running.
    pub status: u64,
}

pub fn slow(pid: u32, seq: u32, stamp: f64, r: &SlowRecord) -> Vec<u8> {
    let s = |us: u64| us as f64 / 1e6;
    let mut d = header(Kind::SlowRequest, pid, seq, stamp);
    d.u64(field::SLOW_RECORD_STATE, r.completed as u64);
    d.f64(field::SLOW_START_STAMP, s(r.start_us));
    d.f64(field::SLOW_DURATION, s(r.duration_us));
    d.u64(field::SLOW_THREAD_ID, r.thread_id);
    d.u64(field::SLOW_SERVER_PID, r.identity.server_pid);
    for (i, v) in r.io.iter().enumerate() {
        d.u64(field::SLOW_INPUT_BYTES + i as u16, *v);
    }
    d.f64(field::SLOW_CPU_USER_TIME, s(r.cpu_user_us));
    d.f64(field::SLOW_CPU_SYSTEM_TIME, s(r.cpu_system_us));
    for (i, us) in r.phases_us.iter().enumerate() {
        d.f64(field::SLOW_SERVER_TIME + i as u16, s(*us));
    }
    if let Some((us, count)) = r.gil_wait {
        d.f64(field::SLOW_GIL_WAIT_TIME, s(us));
        d.u64(field::SLOW_GIL_WAIT_COUNT, count);
    }
    d.f64(field::SLOW_INPUT_READ_TIME, s(r.input_read_us));
    d.f64(field::SLOW_OUTPUT_WRITE_TIME, s(r.output_write_us));
    d.u64(field::SLOW_ACTIVE_AT_START, r.active_at_start);
    d.u64(field::SLOW_ACTIVE_AT_COMPLETION, r.active_at_completion);
    d.u64(field::SLOW_STATUS, r.status);
    d.bytes(field::SLOW_LOG_ID, r.identity.log_id.as_bytes());
    for (i, v) in r.identity.strings.iter().enumerate() {
        d.bytes(field::SLOW_METHOD + i as u16, v.as_bytes());
    }
    d.into_bytes()
}

/// A GC_EVENT record (kind 9). mod_wsgi adds `interpreter_name` (field 8) when a process
/// has more than one interpreter; it is left out here, because mod-wsgi-telemetry 1.1.0's
/// UI fails on bytes in a GC record (its /api/state answers 500).
pub fn gc_event(pid: u32, seq: u32, stamp: f64, e: &super::gc::GcEvent) -> Vec<u8> {
    let mut d = header(Kind::GcEvent, pid, seq, stamp);
    d.f64(field::GC_EVENT_START_STAMP, e.start_us as f64 / 1e6);
    d.f64(field::GC_EVENT_DURATION, e.duration_us as f64 / 1e6);
    d.u64(field::GC_EVENT_GENERATION, e.generation);
    d.u64(field::GC_EVENT_COLLECTED, e.collected);
    d.u64(field::GC_EVENT_UNCOLLECTABLE, e.uncollectable);
    d.into_bytes()
}

#[cfg(test)]
mod tests {
    //! Against the worked examples of the spec (telemetry-spec.md §5): the fixtures are the
    //! datagrams whose sha256 the spec gives, made by its reference encoder.
    use super::*;

    const PID: u32 = 4242;

    fn fixture(hex: &str) -> Vec<u8> {
        let hex = hex.trim();
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
    }

    fn ident() -> Identity {
        Identity {
            mod_wsgi_version: "6.1.1".into(),
            python_version: "3.12.3".into(),
            apache_version: "Apache/2.4.58".into(),
            mpm_name: "event".into(),
            hostname: "web1".into(),
            process_group: "localhost:8000".into(),
            parent_pid: 4200,
            switch_interval: 0.005,
        }
    }

    fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
        (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i))
    }

    fn same(ours: Vec<u8>, hex: &str) {
        let want = fixture(hex);
        assert_eq!(first_difference(&ours, &want), None, "lengths {} / {}", ours.len(), want.len());
    }

    #[test]
    fn buckets_as_the_spec_counts_them() {
        assert_eq!(bucket_index(0.0), 0);
        assert_eq!(bucket_index(0.00124), 0);
        assert_eq!(bucket_index(0.00125), 1);
        assert_eq!(bucket_index(0.012), 14);
        assert_eq!(bucket_index(0.045), 21);
        assert_eq!(bucket_index(2.5), 44);
        assert_eq!(bucket_index(65.535), 63);
        assert_eq!(bucket_index(65.536), 64);
        assert_eq!(bucket_index(f64::NAN), 0);
    }

    #[test]
    fn process_started_5_1() {
        same(started(&ident(), PID, 1, 1700000000.0), include_str!("testdata/started.hex"));
    }

    #[test]
    fn request_daemon_busy_5_2() {
        // (server, queue, daemon, application, gil_wait, input_read, output_write) in µs
        let reqs = [(800, 150, 50, 12000, 0, 0, 100), (1200, 300, 100, 45000, 1500, 0, 250), (900, 200, 80, 2500000, 20000, 300, 900)];
        let mut phases: [PhaseAggregate; PHASES] = Default::default();
        for (server, queue, daemon, app, gil, input, output) in reqs {
            let times = [server, queue, daemon, app, server + queue + daemon + app, gil, input, output];
            for (p, us) in times.into_iter().enumerate() {
                phases[p].record(us);
            }
        }
        let s = Sample {
            period: 1.000213,
            interval: 1.0,
            slow_threshold: 2.0,
            request_count: 3,
            capacity_utilization: 0.78,
            cpu_user: 0.12,
            cpu_system: 0.03,
            memory_rss: 52428800,
            memory_max_rss: 60817408,
            threads_maximum: 2,
            threads_started: 2,
            threads_active: 2,
            daemon: true,
            recorded: 3,
            phases,
            input_bytes: 512,
            input_reads: 2,
            output_bytes: 20480,
            output_writes: 6,
            status: [0, 2, 0, 0, 1],
            slots: vec![
                SlotSample { completed: 2, busy_us: 59600, cpu_us: 30000, current_elapsed_ms: 0, max_duration_ms: 46 },
                SlotSample { completed: 1, busy_us: 1000213, cpu_us: 90000, current_elapsed_ms: 0, max_duration_ms: 2501 },
            ],
        };
        same(request(&ident(), PID, 2, 1700000003.00025, &s), include_str!("testdata/request.hex"));
    }

    #[test]
    fn request_embedded_idle_5_3() {
        let id = Identity { process_group: String::new(), mpm_name: "prefork".into(), ..ident() };
        let s = Sample {
            period: 1.000213,
            interval: 1.0,
            slow_threshold: 2.0,
            memory_rss: 52428800,
            memory_max_rss: 60817408,
            threads_maximum: 1,
            threads_started: 1,
            slots: vec![SlotSample::default()],
            ..Sample::default()
        };
        same(request(&id, PID, 2, 1700000001.000120, &s), include_str!("testdata/request_idle_embedded.hex"));
    }

    fn slow_identity() -> SlowIdentity {
        let strings = ["POST", "https", "www.example.com", "", "/upload", "HTTP/1.1", "192.0.2.10", ""].map(String::from);
        SlowIdentity { log_id: String::new(), server_pid: 4300, strings }
    }

    #[test]
    fn slow_request_5_4() {
        let completed = SlowRecord {
            completed: true,
            start_us: 1700000000497000,
            duration_us: 2502180,
            thread_id: 2,
            identity: slow_identity(),
            io: [512, 2, 8192, 2],
            cpu_user_us: 70000,
            cpu_system_us: 20000,
            phases_us: [900, 200, 80, 2500000],
            gil_wait: Some((20000, 7)),
            input_read_us: 300,
            output_write_us: 900,
            active_at_start: 2,
            active_at_completion: 2,
            status: 500,
        };
        same(slow(PID, 3, 1700000003.00031, &completed), include_str!("testdata/slow_completed.hex"));
        let active = SlowRecord {
            completed: false,
            duration_us: 2250000,
            io: [0; 4],
            cpu_user_us: 0,
            cpu_system_us: 0,
            phases_us: [900, 200, 80, 2247820],
            input_read_us: 0,
            output_write_us: 0,
            active_at_completion: 0,
            status: 0,
            ..completed.clone()
        };
        same(slow(PID, 4, 1700000003.00031, &active), include_str!("testdata/slow_active.hex"));
        let without_gil = slow(PID, 4, 0.0, &SlowRecord { gil_wait: None, ..active });
        assert_eq!(without_gil.len(), 345 - 22);
    }

    #[test]
    fn slow_strings_are_cut_with_a_marker() {
        assert_eq!(capped("GET", 16), "GET");
        assert_eq!(capped(&"a".repeat(15), 16), "a".repeat(15));
        assert_eq!(capped(&"a".repeat(16), 16), format!("{}...", "a".repeat(12)));
        // "é" is 2 bytes: a cut inside it moves back
        assert_eq!(capped(&format!("{}ébbb", "a".repeat(8)), 13), format!("{}...", "a".repeat(8)));
    }

    #[test]
    fn gc_event_5_6() {
        let e = crate::telemetry::gc::GcEvent { start_us: 1700000002750000, duration_us: 1800, generation: 0, collected: 42, uncollectable: 0 };
        same(gc_event(PID, 6, 1700000003.0005, &e), include_str!("testdata/gc_event.hex"));
    }

    #[test]
    fn lifecycle_5_7_and_5_8() {
        same(stopping(&ident(), PID, 7, 1700000010.0, "maximum_requests", 1), include_str!("testdata/stopping.hex"));
        let s = Stopped { reason: "maximum_requests", uptime: 10.5, lifetime_requests: 1000, active_at_exit: 0, graceful: true };
        same(stopped(&ident(), PID, 8, 1700000010.5, &s), include_str!("testdata/stopped.hex"));
    }
}
