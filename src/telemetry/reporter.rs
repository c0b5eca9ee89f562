//! The reporter: one thread per serving process that sends PROCESS_STARTED, then a sample
//! every interval, and at shutdown PROCESS_STOPPING, a last sample and PROCESS_STOPPED
//! (mod_wsgi 6.1.1's `wsgi_telemetry.c` loop). Sends never wait (see `sys::socket::
//! DatagramOut`); unlike mod_wsgi's sleep, the wait between ticks ends at once on shutdown.

use super::metrics;
use super::sample::{self, Identity, Stopped};
use crate::sys::socket::DatagramOut;
use crate::sys::usage;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

/// How a process's reporter is set up.
#[derive(Clone, Debug)]
pub struct Settings {
    pub socket: String,
    pub interval: f64,
    pub slow_threshold_us: u64,
    /// WSGITelemetryOptions CaptureUserAgent.
    pub capture_user_agent: bool,
    pub threads_maximum: u64,
    /// A daemon process (queue and daemon phases are measured).
    pub daemon: bool,
    pub identity: Identity,
}

struct Reporter {
    settings: Settings,
    out: DatagramOut,
    pid: u32,
    /// One sequence for every kind, starting at 1, as mod_wsgi numbers them.
    seq: AtomicU32,
    started_us: u64,
    last: Mutex<Baseline>,
    stop: Mutex<bool>,
    wake: Condvar,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    stopped_sent: AtomicBool,
}

/// The previous snapshot's instant and totals, which each sample is the change from.
struct Baseline {
    at_us: u64,
    lifetime_requests: u64,
    cpu_us: (u64, u64),
}

static REPORTER: OnceLock<Reporter> = OnceLock::new();

pub fn now_us() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// Why a reporter does not run (the caller logs it in mod_wsgi's words).
#[derive(Debug)]
pub enum StartError {
    /// The socket cannot be opened (WSGI0132): nothing at all is sent.
    Open(String),
    /// The thread cannot be made (WSGI0133): only PROCESS_STARTED went out.
    Thread(String),
}

/// Opens the socket, sends PROCESS_STARTED and starts the thread.
/// `settings.identity.parent_pid` is the caller's to fill (the Apache parent); the hostname is
/// filled here.
pub fn start(mut settings: Settings) -> Result<(), StartError> {
    settings.identity.hostname = usage::hostname();
    let out = DatagramOut::open(std::path::Path::new(&settings.socket)).map_err(|e| StartError::Open(e.to_string()))?;
    let started_us = now_us();
    let reporter = Reporter {
        settings,
        out,
        pid: std::process::id(),
        seq: AtomicU32::new(0),
        started_us,
        last: Mutex::new(Baseline { at_us: started_us, lifetime_requests: metrics::lifetime_requests(), cpu_us: usage::process_cpu_us() }),
        stop: Mutex::new(false),
        wake: Condvar::new(),
        thread: Mutex::new(None),
        stopped_sent: AtomicBool::new(false),
    };
    if REPORTER.set(reporter).is_err() {
        return Err(StartError::Thread("a reporter already runs in this process".into()));
    }
    let r = REPORTER.get().ok_or_else(|| StartError::Thread("reporter missing".into()))?;
    let s = &r.settings;
    let recording = metrics::Recording {
        daemon: s.daemon,
        slow_threshold_us: s.slow_threshold_us,
        slow_ring: slow_ring(s.threads_maximum, s.interval, s.slow_threshold_us),
        capture_user_agent: s.capture_user_agent,
    };
    metrics::enable(started_us, recording);
    let started = sample::started(&r.settings.identity, r.pid, r.next_seq(), started_us as f64 / 1e6);
    r.out.send(&started);
    let handle = std::thread::Builder::new().name("wsgi-telemetry".into()).spawn(|| run(r)).map_err(|e| StartError::Thread(e.to_string()))?;
    *r.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
    Ok(())
}

/// Completed slow records kept between ticks: room for each thread to finish a slow request
/// every threshold, five times over, within 32..4096 (`wsgi_metrics.c`).
fn slow_ring(threads: u64, interval: f64, threshold_us: u64) -> usize {
    if threshold_us == 0 {
        return 0;
    }
    let per_thread = (interval / (threshold_us as f64 / 1e6)).ceil().max(1.0);
    ((threads as f64 * per_thread * 5.0).min(4096.0) as usize).max(32)
}

fn run(r: &'static Reporter) {
    let interval = Duration::from_secs_f64(r.settings.interval.max(0.1));
    loop {
        let stop = r.stop.lock().unwrap_or_else(|e| e.into_inner());
        let (stop, _) = r.wake.wait_timeout_while(stop, interval, |stop| !*stop).unwrap_or_else(|e| e.into_inner());
        if *stop {
            return;
        }
        drop(stop);
        r.tick();
    }
}

impl Reporter {
    fn next_seq(&self) -> u32 {
        self.seq.fetch_add(1, Ordering::Relaxed).wrapping_add(1)
    }

    fn tick(&self) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let now = now_us();
        let period_us = now.saturating_sub(last.at_us).max(1);
        let period = period_us as f64 / 1e6;
        let s = &self.settings;
        let (mut sample, slow) = metrics::snapshot(now, period_us, s.threads_maximum);
        let lifetime = metrics::lifetime_requests();
        let cpu = usage::process_cpu_us();
        sample.period = period;
        sample.interval = s.interval;
        sample.slow_threshold = s.slow_threshold_us as f64 / 1e6;
        sample.request_count = lifetime.saturating_sub(last.lifetime_requests);
        sample.cpu_user = cpu.0.saturating_sub(last.cpu_us.0) as f64 / 1e6 / period;
        sample.cpu_system = cpu.1.saturating_sub(last.cpu_us.1) as f64 / 1e6 / period;
        sample.memory_rss = usage::rss_bytes();
        sample.memory_max_rss = usage::max_rss_bytes();
        *last = Baseline { at_us: now, lifetime_requests: lifetime, cpu_us: cpu };
        let datagram = sample::request(&s.identity, self.pid, self.next_seq(), now as f64 / 1e6, &sample);
        drop(last);
        self.out.send(&datagram);
        // One instant for every slow record of the tick, taken after the sample went.
        let stamp = now_us() as f64 / 1e6;
        for record in &slow {
            self.out.send(&sample::slow(self.pid, self.next_seq(), stamp, record));
        }
        for event in super::gc::drain() {
            self.out.send(&sample::gc_event(self.pid, self.next_seq(), now_us() as f64 / 1e6, &event));
        }
    }
}

/// Shutdown was decided: PROCESS_STOPPING, with the requests still running. `reason` is
/// mod_wsgi's word for it ("" in embedded processes, where it is left out).
pub fn stopping(reason: &str) {
    let Some(r) = REPORTER.get() else { return };
    let d = sample::stopping(&r.settings.identity, r.pid, r.next_seq(), now_us() as f64 / 1e6, reason, metrics::active_requests());
    r.out.send(&d);
}

/// The process is about to exit: stops the thread, sends a last sample for the partial
/// interval, then PROCESS_STOPPED (once, whoever calls first).
pub fn stopped(reason: &str) {
    let Some(r) = REPORTER.get() else { return };
    if r.stopped_sent.swap(true, Ordering::AcqRel) {
        return;
    }
    *r.stop.lock().unwrap_or_else(|e| e.into_inner()) = true;
    r.wake.notify_all();
    if let Some(handle) = r.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
        let _ = handle.join();
    }
    r.tick();
    let now = now_us();
    let active = metrics::active_requests();
    let s = Stopped {
        reason,
        uptime: now.saturating_sub(r.started_us) as f64 / 1e6,
        lifetime_requests: metrics::lifetime_requests(),
        active_at_exit: active,
        graceful: active == 0,
    };
    let d = sample::stopped(&r.settings.identity, r.pid, r.next_seq(), now as f64 / 1e6, &s);
    r.out.send(&d);
}

#[cfg(test)]
mod tests {
    #[test]
    fn slow_ring_size() {
        assert_eq!(super::slow_ring(1, 1.0, 0), 0);
        assert_eq!(super::slow_ring(1, 1.0, 2_000_000), 32);
        assert_eq!(super::slow_ring(15, 1.0, 100_000), 750);
        assert_eq!(super::slow_ring(128, 10.0, 1), 4096);
    }
}
