//! What request threads record for the reporter: per-tick phase times, I/O, status classes,
//! per-thread slots and the busy integral (mod_wsgi 6's `wsgi_metrics.c` accumulators).
//! A request takes one short, uncontended lock at its start and one at its end; nothing is
//! recorded until a reporter runs (`enable`), so without telemetry a request pays one
//! atomic load.

use super::sample::{PHASES, Phase, PhaseAggregate, Sample, SlotSample};
use std::cell::Cell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(false);
/// A daemon process: queue and daemon phases are recorded.
static DAEMON: AtomicBool = AtomicBool::new(false);
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

#[derive(Default, Clone, Copy)]
struct SlotState {
    completed: i32,
    busy_us: u64,
    cpu_us: u64,
    in_use: bool,
    busy_since_us: u64,
    start_us: u64,
    max_duration_ms: i32,
}

#[derive(Default)]
struct Tick {
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
pub fn enable(now_us: u64, daemon: bool) {
    DAEMON.store(daemon, Ordering::Relaxed);
    *tick() = Some(Tick { last_change_us: now_us, ..Tick::default() });
    ENABLED.store(true, Ordering::Release);
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Acquire)
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
    thread_cpu_us: u64,
}

/// A request begins on this thread (None: nothing records).
pub fn started(now_us: u64) -> Option<Started> {
    if !enabled() {
        return None;
    }
    begin(now_us, crate::sys::usage::thread_cpu_us())
}

fn begin(now_us: u64, thread_cpu_us: u64) -> Option<Started> {
    let slot = this_thread_slot();
    let mut guard = tick();
    let t = guard.as_mut()?;
    t.advance(now_us);
    t.active += 1;
    let i = slot as usize - 1;
    if i < MAX_SLOTS {
        if t.slots.len() <= i {
            t.slots.resize(i + 1, SlotState::default());
        }
        let s = &mut t.slots[i];
        s.in_use = true;
        s.busy_since_us = now_us;
        s.start_us = now_us;
    }
    Some(Started { slot, start_us: now_us, thread_cpu_us })
}

/// What one request did, in wall-clock µs since the epoch (0: that instant does not apply).
#[derive(Clone, Copy, Debug, Default)]
pub struct Finished {
    /// When Apache read the request line.
    pub request_start_us: u64,
    /// Daemon mode: when the Apache child began handing it to the daemon, and when the
    /// daemon took it. 0 in embedded mode.
    pub queue_start_us: u64,
    pub daemon_start_us: u64,
    pub application_start_us: u64,
    pub finish_us: u64,
    /// This thread's CPU time at the end (`finished` reads it).
    pub thread_cpu_us: u64,
    pub gil_wait_us: u64,
    pub input_read_us: u64,
    pub output_write_us: u64,
    pub input_bytes: u64,
    pub input_reads: u64,
    pub output_bytes: u64,
    pub output_writes: u64,
    pub status: u16,
}

/// Phase durations (µs) of a request, in `Phase` order; negative spans count as 0.
pub fn phase_times(f: &Finished) -> [u64; PHASES] {
    let span = |from: u64, to: u64| to.saturating_sub(from);
    let (server, queue, daemon) = if f.queue_start_us != 0 {
        let daemon_start = if f.daemon_start_us != 0 { f.daemon_start_us } else { f.application_start_us };
        (span(f.request_start_us, f.queue_start_us), span(f.queue_start_us, daemon_start), span(daemon_start, f.application_start_us))
    } else {
        (span(f.request_start_us, f.application_start_us), 0, 0)
    };
    let application = span(f.application_start_us, f.finish_us);
    let mut out = [0; PHASES];
    out[Phase::Server as usize] = server;
    out[Phase::Queue as usize] = queue;
    out[Phase::Daemon as usize] = daemon;
    out[Phase::Application as usize] = application;
    out[Phase::Request as usize] = server + queue + daemon + application;
    out[Phase::GilWait as usize] = f.gil_wait_us;
    out[Phase::InputRead as usize] = f.input_read_us;
    out[Phase::OutputWrite as usize] = f.output_write_us;
    out
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
    record(started, &Finished { thread_cpu_us: crate::sys::usage::thread_cpu_us(), ..*f }, DAEMON.load(Ordering::Relaxed));
}

fn record(started: Started, f: &Finished, daemon: bool) {
    LIFETIME.fetch_add(1, Ordering::Relaxed);
    let times = phase_times(f);
    let cpu = f.thread_cpu_us.saturating_sub(started.thread_cpu_us);
    let mut guard = tick();
    let Some(t) = guard.as_mut() else { return };
    for (p, us) in times.iter().enumerate() {
        // Queue and daemon phases exist only in daemon processes.
        if !daemon && (p == Phase::Queue as usize || p == Phase::Daemon as usize) {
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
    t.advance(f.finish_us);
    t.active = t.active.saturating_sub(1);
    if let Some(s) = t.slots.get_mut(started.slot as usize - 1) {
        s.completed += 1;
        s.busy_us += f.finish_us.saturating_sub(s.busy_since_us);
        s.cpu_us += cpu;
        s.in_use = false;
        let ms = (f.finish_us.saturating_sub(started.start_us) / 1000).min(i32::MAX as u64) as i32;
        s.max_duration_ms = s.max_duration_ms.max(ms);
    }
}

/// The part of a sample request threads recorded since the previous snapshot, which this
/// resets. `period_us` is the time since that snapshot; the reporter adds CPU, memory and
/// its own settings.
pub fn snapshot(now_us: u64, period_us: u64, threads_maximum: u64, daemon: bool) -> Sample {
    let mut guard = tick();
    let mut s = Sample { threads_maximum, daemon, threads_started: SLOTS_GIVEN.load(Ordering::Relaxed) as u64, ..Sample::default() };
    let n = (threads_maximum as usize).clamp(1, MAX_SLOTS);
    let Some(t) = guard.as_mut() else {
        s.slots = vec![SlotSample::default(); n];
        return s;
    };
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
    s.slots = vec![SlotSample::default(); n];
    for (i, slot) in t.slots.iter_mut().enumerate().take(n) {
        let mut busy = slot.busy_us;
        let mut current = 0;
        if slot.in_use {
            // A long request counts in every tick it spans.
            busy += now_us.saturating_sub(slot.busy_since_us);
            slot.busy_since_us = now_us;
            current = (now_us.saturating_sub(slot.start_us) / 1000).min(i32::MAX as u64) as i32;
        }
        if slot.completed > 0 || slot.in_use {
            s.threads_active += 1;
        }
        s.slots[i] = SlotSample {
            completed: slot.completed,
            busy_us: busy,
            cpu_us: slot.cpu_us,
            current_elapsed_ms: current,
            max_duration_ms: slot.max_duration_ms,
        };
        *slot = SlotState { in_use: slot.in_use, busy_since_us: slot.busy_since_us, start_us: slot.start_us, ..SlotState::default() };
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_in_each_mode() {
        let embedded = Finished { request_start_us: 100, application_start_us: 400, finish_us: 1400, ..Finished::default() };
        assert_eq!(phase_times(&embedded)[..5], [300, 0, 0, 1000, 1300]);
        let daemon = Finished { queue_start_us: 200, daemon_start_us: 250, ..embedded };
        assert_eq!(phase_times(&daemon)[..5], [100, 50, 150, 1000, 1300]);
        let clock_step_back = Finished { request_start_us: 500, ..embedded };
        assert_eq!(phase_times(&clock_step_back)[0], 0);
    }

    #[test]
    fn status_classes() {
        assert_eq!([0, 101, 200, 302, 404, 599, 600, 42].map(status_class), [Some(4), Some(0), Some(1), Some(2), Some(3), Some(4), None, None]);
    }

    /// One test for the process-wide state, so no other test races it.
    #[test]
    fn a_tick_of_two_requests() {
        assert!(started(0).is_none(), "nothing is recorded before enable");
        enable(1_000_000, false);
        let a = begin(1_000_000, 5_000).unwrap();
        let f = Finished {
            request_start_us: 999_000,
            application_start_us: 1_000_000,
            finish_us: 1_250_000,
            thread_cpu_us: 25_000,
            input_bytes: 10,
            input_reads: 1,
            output_bytes: 100,
            output_writes: 2,
            status: 200,
            ..Finished::default()
        };
        record(a, &f, false);
        let b = begin(1_500_000, 0).unwrap();
        let s = snapshot(2_000_000, 1_000_000, 1, false);
        assert_eq!((s.recorded, s.status, s.input_bytes, s.output_writes), (1, [0, 1, 0, 0, 0], 10, 2));
        assert_eq!(s.phases[Phase::Request as usize].min_us, 251_000);
        assert_eq!(s.phases[Phase::Queue as usize].count, 0, "no queue phase in embedded mode");
        // busy 0.25 s (first) + 0.5 s (second, still running) over 1 s with one thread
        assert!((s.capacity_utilization - 0.75).abs() < 1e-9, "{}", s.capacity_utilization);
        assert_eq!(s.slots.len(), 1);
        assert_eq!(s.slots[0], SlotSample { completed: 1, busy_us: 750_000, cpu_us: 20_000, current_elapsed_ms: 500, max_duration_ms: 250 });
        assert_eq!(s.threads_active, 1);
        assert_eq!(active_requests(), 1);
        record(b, &Finished { finish_us: 2_200_000, status: 500, ..Finished::default() }, false);
        let s = snapshot(3_000_000, 1_000_000, 1, false);
        assert_eq!(s.slots[0].busy_us, 200_000, "the running request's earlier part was counted last tick");
        assert_eq!((s.status[4], lifetime_requests()), (1, 2));
        let s = snapshot(4_000_000, 1_000_000, 1, false);
        assert_eq!((s.recorded, s.threads_active, s.capacity_utilization), (0, 0, 0.0));
    }
}
