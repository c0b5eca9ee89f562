//! What request threads record for the reporter: per-tick phase times, I/O, status classes,
//! per-thread slots, the busy integral, and slow requests (mod_wsgi 6's `wsgi_metrics.c`
//! accumulators). A request takes one short, uncontended lock at its start and one at its
//! end; nothing is recorded until a reporter runs (`enable`), so without telemetry a request
//! pays one atomic load.

use super::sample::{PHASES, Phase, PhaseAggregate, Sample, SlotSample, SlowIdentity, SlowRecord};
use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(false);
/// Whether requests bring a SlowIdentity (0 no, 1 yes, 2 with the User-Agent): read on
/// every request, so not behind the lock.
static SLOW_IDENTITY: AtomicU8 = AtomicU8::new(0);
/// Requests finished over the process's life (field 132; field 20 is its change per tick).
static LIFETIME: AtomicU64 = AtomicU64::new(0);
/// Thread slots handed out, 1-based (field 51).
static SLOTS_GIVEN: AtomicU32 = AtomicU32::new(0);
static TICK: Mutex<Option<Tick>> = Mutex::new(None);

thread_local! {
    static SLOT: Cell<u32> = const { Cell::new(0) };
}

/// Slot arrays are cut at this many threads (`WSGI_TELEMETRY_MAX_SLOTS`).
pub const MAX_SLOTS: usize = 128;
/// Running slow requests reported per tick (mod_wsgi's `actives[16]`).
pub const MAX_ACTIVE_SLOW: usize = 16;

/// How this process records, fixed when the reporter starts.
#[derive(Clone, Copy, Debug, Default)]
pub struct Recording {
    /// A daemon process: queue and daemon phases are recorded.
    pub daemon: bool,
    /// WSGISlowRequests in µs; 0 = no slow records.
    pub slow_threshold_us: u64,
    /// Completed slow records kept between ticks; the oldest goes when it is full.
    pub slow_ring: usize,
    /// WSGITelemetryOptions CaptureUserAgent.
    pub capture_user_agent: bool,
}

/// The request a slot is serving, kept for its slow-request heartbeat.
#[derive(Clone)]
struct InFlight {
    arrival: [u64; 3],
    active_at_start: u64,
    identity: Option<Box<SlowIdentity>>,
}

#[derive(Default, Clone)]
struct SlotState {
    completed: i32,
    busy_us: u64,
    cpu_us: u64,
    busy_since_us: u64,
    start_us: u64,
    max_duration_ms: i32,
    /// Some while a request runs.
    current: Option<InFlight>,
}

#[derive(Default)]
struct Tick {
    recording: Recording,
    phases: [PhaseAggregate; PHASES],
    recorded: u64,
    input_bytes: u64,
    input_reads: u64,
    output_bytes: u64,
    output_writes: u64,
    status: [u64; 5],
    /// Requests in flight, and ∫ in-flight dt (request·µs) since the previous snapshot.
    active: u64,
    busy_integral: u128,
    last_change_us: u64,
    slots: Vec<SlotState>,
    slow_completed: VecDeque<SlowRecord>,
}

impl Tick {
    fn advance(&mut self, now_us: u64) {
        let dt = now_us.saturating_sub(self.last_change_us);
        self.busy_integral += self.active as u128 * dt as u128;
        self.last_change_us = now_us.max(self.last_change_us);
    }
}

fn tick() -> std::sync::MutexGuard<'static, Option<Tick>> {
    TICK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts recording (the reporter, once it can send).
pub fn enable(now_us: u64, recording: Recording) {
    let slow = match (recording.slow_threshold_us > 0, recording.capture_user_agent) {
        (false, _) => 0,
        (true, false) => 1,
        (true, true) => 2,
    };
    SLOW_IDENTITY.store(slow, Ordering::Relaxed);
    *tick() = Some(Tick { recording, last_change_us: now_us, ..Tick::default() });
    ENABLED.store(true, Ordering::Release);
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Acquire)
}

/// Whether a starting request should bring a `SlowIdentity` (and with the User-Agent).
pub fn slow_identity_wanted() -> Option<bool> {
    match SLOW_IDENTITY.load(Ordering::Relaxed) {
        0 => None,
        wanted => Some(wanted == 2),
    }
}

pub fn lifetime_requests() -> u64 {
    LIFETIME.load(Ordering::Relaxed)
}

pub fn active_requests() -> u64 {
    tick().as_ref().map_or(0, |t| t.active)
}

fn this_thread_slot() -> u32 {
    SLOT.with(|s| {
        if s.get() == 0 {
            s.set(SLOTS_GIVEN.fetch_add(1, Ordering::Relaxed) + 1);
        }
        s.get()
    })
}

/// A request this thread has begun; give it back to `finished`.
pub struct Started {
    slot: u32,
    start_us: u64,
    arrival: [u64; 3],
    active_at_start: u64,
    thread_cpu_us: (u64, u64),
    identity: Option<Box<SlowIdentity>>,
}

/// A request's application starts on this thread (None: nothing records). `arrival` is
/// when it reached Apache, and in daemon mode when the child began handing it over and
/// when the daemon took it (µs since the epoch; 0 where it does not apply).
pub fn started(now_us: u64, arrival: [u64; 3], identity: Option<SlowIdentity>) -> Option<Started> {
    if !enabled() {
        return None;
    }
    begin(now_us, arrival, identity, crate::sys::usage::thread_cpu_us())
}

fn begin(now_us: u64, arrival: [u64; 3], identity: Option<SlowIdentity>, thread_cpu_us: (u64, u64)) -> Option<Started> {
    let slot = this_thread_slot();
    let identity = identity.map(Box::new);
    let mut guard = tick();
    let t = guard.as_mut()?;
    t.advance(now_us);
    t.active += 1;
    let active_at_start = t.active;
    let i = slot as usize - 1;
    if i < MAX_SLOTS {
        if t.slots.len() <= i {
            t.slots.resize(i + 1, SlotState::default());
        }
        let s = &mut t.slots[i];
        s.busy_since_us = now_us;
        s.start_us = now_us;
        s.current = Some(InFlight { arrival, active_at_start, identity: identity.clone() });
    }
    Some(Started { slot, start_us: now_us, arrival, active_at_start, thread_cpu_us, identity })
}

/// What one request did, in wall-clock µs since the epoch.
#[derive(Clone, Copy, Debug, Default)]
pub struct Finished {
    pub finish_us: u64,
    /// This thread's (user, system) CPU time at the end (`finished` reads it).
    pub thread_cpu_us: (u64, u64),
    /// GIL waits over the request: µs and times.
    pub gil_wait: (u64, u64),
    pub input_read_us: u64,
    pub output_write_us: u64,
    pub input_bytes: u64,
    pub input_reads: u64,
    pub output_bytes: u64,
    pub output_writes: u64,
    pub status: u16,
}

/// Phase durations (µs) of a request whose application started at `application_start_us`
/// and ran until `until_us`, in `Phase` order (without the GIL and I/O ones); negative
/// spans count as 0.
pub fn phase_times(arrival: [u64; 3], application_start_us: u64, until_us: u64) -> [u64; 5] {
    let [request_start, queue_start, daemon_start] = arrival;
    let span = |from: u64, to: u64| to.saturating_sub(from);
    let (server, queue, daemon) = if queue_start != 0 {
        let daemon_start = if daemon_start != 0 { daemon_start } else { application_start_us };
        (span(request_start, queue_start), span(queue_start, daemon_start), span(daemon_start, application_start_us))
    } else {
        (span(request_start, application_start_us), 0, 0)
    };
    let application = span(application_start_us, until_us);
    [server, queue, daemon, application, server + queue + daemon + application]
}

/// Status class index (1xx = 0 .. 5xx = 4); 0 counts as 5xx, out-of-range codes as none.
fn status_class(status: u16) -> Option<usize> {
    match status {
        0 => Some(4),
        100..=599 => Some(status as usize / 100 - 1),
        _ => None,
    }
}

/// The request begun with `started` has ended, on the same thread.
pub fn finished(started: Started, f: &Finished) {
    record(started, &Finished { thread_cpu_us: crate::sys::usage::thread_cpu_us(), ..*f });
}

fn record(started: Started, f: &Finished) {
    LIFETIME.fetch_add(1, Ordering::Relaxed);
    let [server, queue, daemon, application, request] = phase_times(started.arrival, started.start_us, f.finish_us);
    let cpu = (f.thread_cpu_us.0.saturating_sub(started.thread_cpu_us.0), f.thread_cpu_us.1.saturating_sub(started.thread_cpu_us.1));
    let mut guard = tick();
    let Some(t) = guard.as_mut() else { return };
    let times = [server, queue, daemon, application, request, f.gil_wait.0, f.input_read_us, f.output_write_us];
    for (p, us) in times.iter().enumerate() {
        // Queue and daemon phases exist only in daemon processes.
        if !t.recording.daemon && (p == Phase::Queue as usize || p == Phase::Daemon as usize) {
            continue;
        }
        t.phases[p].record(*us);
    }
    t.recorded += 1;
    t.input_bytes += f.input_bytes;
    t.input_reads += f.input_reads;
    t.output_bytes += f.output_bytes;
    t.output_writes += f.output_writes;
    if let Some(c) = status_class(f.status) {
        t.status[c] += 1;
    }
    let duration_us = f.finish_us.saturating_sub(started.start_us);
    let threshold = t.recording.slow_threshold_us;
    if threshold > 0 && duration_us >= threshold {
        if let Some(identity) = started.identity {
            let ring = t.recording.slow_ring.max(1);
            if t.slow_completed.len() >= ring {
                t.slow_completed.pop_front();
            }
            t.slow_completed.push_back(SlowRecord {
                completed: true,
                start_us: started.start_us,
                duration_us,
                thread_id: started.slot as u64,
                identity: *identity,
                io: [f.input_bytes, f.input_reads, f.output_bytes, f.output_writes],
                cpu_user_us: cpu.0,
                cpu_system_us: cpu.1,
                phases_us: [server, queue, daemon, application],
                gil_wait: Some(f.gil_wait),
                input_read_us: f.input_read_us,
                output_write_us: f.output_write_us,
                active_at_start: started.active_at_start,
                active_at_completion: t.active,
                status: f.status as u64,
            });
        }
    }
    t.advance(f.finish_us);
    t.active = t.active.saturating_sub(1);
    if let Some(s) = t.slots.get_mut(started.slot as usize - 1) {
        s.completed += 1;
        s.busy_us += f.finish_us.saturating_sub(s.busy_since_us);
        s.cpu_us += cpu.0 + cpu.1;
        s.current = None;
        let ms = (duration_us / 1000).min(i32::MAX as u64) as i32;
        s.max_duration_ms = s.max_duration_ms.max(ms);
    }
}

/// What request threads recorded since the previous snapshot, which this resets: the
/// sample's request part (`period_us` is the time since that snapshot; the reporter adds
/// CPU, memory and its settings), and the slow records to send, completed ones first.
pub fn snapshot(now_us: u64, period_us: u64, threads_maximum: u64) -> (Sample, Vec<SlowRecord>) {
    let mut guard = tick();
    let mut s = Sample { threads_maximum, threads_started: SLOTS_GIVEN.load(Ordering::Relaxed) as u64, ..Sample::default() };
    let n = (threads_maximum as usize).clamp(1, MAX_SLOTS);
    s.slots = vec![SlotSample::default(); n];
    let Some(t) = guard.as_mut() else { return (s, Vec::new()) };
    s.daemon = t.recording.daemon;
    t.advance(now_us);
    let busy_seconds = t.busy_integral as f64 / 1e6;
    s.capacity_utilization = busy_seconds / (period_us.max(1) as f64 / 1e6) / threads_maximum.max(1) as f64;
    t.busy_integral = 0;
    s.phases = std::mem::take(&mut t.phases);
    s.recorded = std::mem::take(&mut t.recorded);
    s.input_bytes = std::mem::take(&mut t.input_bytes);
    s.input_reads = std::mem::take(&mut t.input_reads);
    s.output_bytes = std::mem::take(&mut t.output_bytes);
    s.output_writes = std::mem::take(&mut t.output_writes);
    s.status = std::mem::take(&mut t.status);
    let mut slow: Vec<SlowRecord> = t.slow_completed.drain(..).collect();
    let threshold = t.recording.slow_threshold_us;
    let mut actives = 0;
    for (i, slot) in t.slots.iter_mut().enumerate() {
        let elapsed_us = now_us.saturating_sub(slot.start_us);
        if let Some(current) = &slot.current {
            if threshold > 0 && elapsed_us >= threshold && actives < MAX_ACTIVE_SLOW {
                if let Some(identity) = &current.identity {
                    actives += 1;
                    slow.push(running_record(i as u64 + 1, slot.start_us, now_us, current, identity));
                }
            }
        }
        if i >= n {
            continue;
        }
        let mut busy = slot.busy_us;
        let mut current_ms = 0;
        if slot.current.is_some() {
            // A long request counts in every tick it spans.
            busy += now_us.saturating_sub(slot.busy_since_us);
            slot.busy_since_us = now_us;
            current_ms = (elapsed_us / 1000).min(i32::MAX as u64) as i32;
        }
        if slot.completed > 0 || slot.current.is_some() {
            s.threads_active += 1;
        }
        s.slots[i] = SlotSample {
            completed: slot.completed,
            busy_us: busy,
            cpu_us: slot.cpu_us,
            current_elapsed_ms: current_ms,
            max_duration_ms: slot.max_duration_ms,
        };
        slot.completed = 0;
        slot.busy_us = 0;
        slot.cpu_us = 0;
        slot.max_duration_ms = 0;
    }
    (s, slow)
}

/// The heartbeat of a request still running past the threshold. Its GIL waits are another
/// thread's running count, which is not readable here: left out rather than guessed.
fn running_record(thread_id: u64, start_us: u64, now_us: u64, current: &InFlight, identity: &SlowIdentity) -> SlowRecord {
    let [server, queue, daemon, application, _] = phase_times(current.arrival, start_us, now_us);
    SlowRecord {
        completed: false,
        start_us,
        duration_us: now_us.saturating_sub(start_us),
        thread_id,
        identity: identity.clone(),
        phases_us: [server, queue, daemon, application],
        gil_wait: None,
        active_at_start: current.active_at_start,
        ..SlowRecord::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_in_each_mode() {
        assert_eq!(phase_times([100, 0, 0], 400, 1400), [300, 0, 0, 1000, 1300]);
        assert_eq!(phase_times([100, 200, 250], 400, 1400), [100, 50, 150, 1000, 1300]);
        assert_eq!(phase_times([500, 0, 0], 400, 1400)[0], 0, "a clock step back counts as 0");
    }

    #[test]
    fn status_classes() {
        assert_eq!([0, 101, 200, 302, 404, 599, 600, 42].map(status_class), [Some(4), Some(0), Some(1), Some(2), Some(3), Some(4), None, None]);
    }

    fn who(path: &str) -> Option<SlowIdentity> {
        let mut id = SlowIdentity::default();
        id.strings[4] = path.to_string();
        Some(id)
    }

    /// One test for the process-wide state, so no other test races it.
    #[test]
    fn ticks_of_requests() {
        assert!(started(0, [0; 3], None).is_none(), "nothing is recorded before enable");
        enable(1_000_000, Recording { daemon: false, slow_threshold_us: 400_000, slow_ring: 2, capture_user_agent: false });
        assert_eq!(slow_identity_wanted(), Some(false));
        let a = begin(1_000_000, [999_000, 0, 0], who("/a"), (5_000, 1_000)).unwrap();
        let f = Finished {
            finish_us: 1_250_000,
            thread_cpu_us: (25_000, 2_000),
            input_bytes: 10,
            input_reads: 1,
            output_bytes: 100,
            output_writes: 2,
            status: 200,
            ..Finished::default()
        };
        record(a, &f);
        let b = begin(1_500_000, [1_500_000, 0, 0], who("/b"), (0, 0)).unwrap();
        let (s, slow) = snapshot(2_000_000, 1_000_000, 1);
        assert_eq!((s.recorded, s.status, s.input_bytes, s.output_writes), (1, [0, 1, 0, 0, 0], 10, 2));
        assert_eq!(s.phases[Phase::Request as usize].min_us, 251_000);
        assert_eq!(s.phases[Phase::Queue as usize].count, 0, "no queue phase in embedded mode");
        // busy 0.25 s (first) + 0.5 s (second, still running) over 1 s with one thread
        assert!((s.capacity_utilization - 0.75).abs() < 1e-9, "{}", s.capacity_utilization);
        assert_eq!(s.slots, vec![SlotSample { completed: 1, busy_us: 750_000, cpu_us: 21_000, current_elapsed_ms: 500, max_duration_ms: 250 }]);
        assert_eq!(s.threads_active, 1);
        assert_eq!(active_requests(), 1);
        // the first was under the threshold; the second is running past it
        assert_eq!(slow.len(), 1);
        assert_eq!((slow[0].completed, slow[0].duration_us, slow[0].identity.strings[4].as_str()), (false, 500_000, "/b"));
        assert_eq!((slow[0].phases_us, slow[0].gil_wait, slow[0].active_at_start), ([0, 0, 0, 500_000], None, 1));

        record(b, &Finished { finish_us: 2_200_000, status: 500, gil_wait: (7, 1), ..Finished::default() });
        let (s, slow) = snapshot(3_000_000, 1_000_000, 1);
        assert_eq!(s.slots[0].busy_us, 200_000, "the running request's earlier part was counted last tick");
        assert_eq!((s.status[4], lifetime_requests()), (1, 2));
        assert_eq!(slow.len(), 1, "completed once, no more heartbeats");
        assert_eq!((slow[0].completed, slow[0].duration_us, slow[0].status, slow[0].gil_wait), (true, 700_000, 500, Some((7, 1))));
        assert_eq!(slow[0].active_at_completion, 1, "counting itself");

        // the ring keeps the newest two
        for (i, path) in ["/1", "/2", "/3"].into_iter().enumerate() {
            let at = 4_000_000 + i as u64 * 1_000_000;
            let r = begin(at, [at, 0, 0], who(path), (0, 0)).unwrap();
            record(r, &Finished { finish_us: at + 500_000, status: 200, ..Finished::default() });
        }
        let (s, slow) = snapshot(7_000_000, 4_000_000, 1);
        assert_eq!(slow.iter().map(|r| r.identity.strings[4].as_str()).collect::<Vec<_>>(), ["/2", "/3"]);
        let (s2, _) = snapshot(8_000_000, 1_000_000, 1);
        assert_eq!((s.recorded, s2.recorded, s2.threads_active, s2.capacity_utilization), (3, 0, 0, 0.0));
    }
}
