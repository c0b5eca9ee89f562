//! The layout of the shared counters, and what processes record into them.
//!
//! One flat array of atomic words: a header, then one block per process group (index 0 is
//! embedded mode, then the daemon groups in config order: its name, totals that only grow,
//! so Prometheus counters never go down when a process exits), then one slot per live
//! process (its pid, group, threads, requests in flight and served).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Upper bounds of the latency histogram buckets, in seconds (the last one is +Inf).
pub const BUCKETS: [f64; 15] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

pub const MAX_GROUPS: usize = 64;
pub const MAX_PROCESSES: usize = 256;
const NAME_WORDS: usize = 8; // 64 bytes of group name

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Apache child to daemon process: waiting for a daemon thread.
    Queue,
    /// Accepted by the daemon process until the application is called.
    Daemon,
    /// The application, its response included.
    Application,
    /// Waiting to take the GIL back during the request.
    GilWait,
}

impl Phase {
    pub const ALL: [Phase; 4] = [Phase::Queue, Phase::Daemon, Phase::Application, Phase::GilWait];

    pub fn label(self) -> &'static str {
        match self {
            Phase::Queue => "queue",
            Phase::Daemon => "daemon",
            Phase::Application => "application",
            Phase::GilWait => "gil_wait",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartReason {
    /// Killed by a signal (a crash, the OOM killer, kill -9).
    Signal,
    /// Exited with a non-zero status.
    Exit,
    /// A new generation: a script changed.
    ScriptChanged,
    /// A new generation: Apache's graceful restart.
    Graceful,
    /// It left on its own: maximum-requests, inactivity-timeout, memory or CPU limits...
    Retired,
}

impl RestartReason {
    pub const ALL: [RestartReason; 5] =
        [RestartReason::Signal, RestartReason::Exit, RestartReason::ScriptChanged, RestartReason::Graceful, RestartReason::Retired];

    pub fn label(self) -> &'static str {
        match self {
            RestartReason::Signal => "signal",
            RestartReason::Exit => "exit",
            RestartReason::ScriptChanged => "script_changed",
            RestartReason::Graceful => "graceful",
            RestartReason::Retired => "retired",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An Apache child serving in embedded mode (or proxying to daemons).
    ApacheChild = 1,
    DaemonProcess = 2,
}

// per group
const G_NAME: usize = 0;
const G_REQUESTS: usize = G_NAME + NAME_WORDS; // 5 status classes
const G_HIST: usize = G_REQUESTS + 5; // per phase: buckets + count + sum (µs)
const HIST_WORDS: usize = BUCKETS.len() + 1 + 2;
const G_RESTARTS: usize = G_HIST + HIST_WORDS * Phase::ALL.len();
const G_RELOADS: usize = G_RESTARTS + RestartReason::ALL.len();
const GROUP_WORDS: usize = G_RELOADS + 1;
// per process
const P_PID: usize = 0;
const P_GROUP: usize = 1;
const P_KIND: usize = 2;
const P_THREADS: usize = 3;
const P_ACTIVE: usize = 4;
const P_REQUESTS: usize = 5;
const PROCESS_WORDS: usize = 6;

const HEADER_WORDS: usize = 1;
const GROUPS_AT: usize = HEADER_WORDS;
const PROCESSES_AT: usize = GROUPS_AT + MAX_GROUPS * GROUP_WORDS;
pub const WORDS: usize = PROCESSES_AT + MAX_PROCESSES * PROCESS_WORDS;

/// The shared counters of one Apache generation.
#[derive(Clone, Copy)]
pub struct Table {
    words: &'static [AtomicU64],
}

impl Table {
    /// Lays the table over `words` (at least WORDS of them, zeroed).
    pub fn over(words: &'static [AtomicU64]) -> Option<Table> {
        (words.len() >= WORDS).then_some(Table { words })
    }

    fn word(&self, i: usize) -> &AtomicU64 {
        &self.words[i]
    }

    fn group_base(index: usize) -> usize {
        GROUPS_AT + index * GROUP_WORDS
    }

    /// Names the process groups (index 0: embedded mode, ""), before any process forks.
    pub fn name_groups<'a>(&self, daemon_groups: impl IntoIterator<Item = &'a str>) {
        let mut index = 1;
        for name in daemon_groups.into_iter().take(MAX_GROUPS - 1) {
            let bytes = name.as_bytes();
            let base = Self::group_base(index) + G_NAME;
            for w in 0..NAME_WORDS {
                let mut chunk = [0u8; 8];
                for (k, b) in chunk.iter_mut().enumerate() {
                    *b = bytes.get(w * 8 + k).copied().unwrap_or(0);
                }
                self.word(base + w).store(u64::from_le_bytes(chunk), Relaxed);
            }
            index += 1;
        }
        self.word(0).store(index as u64, Relaxed);
    }

    pub fn group_count(&self) -> usize {
        (self.word(0).load(Relaxed) as usize).clamp(1, MAX_GROUPS)
    }

    pub fn group_name(&self, index: usize) -> String {
        let base = Self::group_base(index) + G_NAME;
        let bytes: Vec<u8> = (0..NAME_WORDS).flat_map(|w| self.word(base + w).load(Relaxed).to_le_bytes()).collect();
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        String::from_utf8_lossy(&bytes[..end]).into_owned()
    }

    /// The index of a group name (embedded mode, 0, for "" or an unknown name).
    pub fn group_index(&self, name: &str) -> usize {
        (1..self.group_count()).find(|&i| self.group_name(i) == name).unwrap_or(0)
    }

    /// A slot for process `pid`: a free one, or one whose process has gone.
    pub fn claim(&self, pid: u32, group: usize, kind: Kind, threads: u32, alive: impl Fn(u32) -> bool) -> Option<Slot> {
        for i in 0..MAX_PROCESSES {
            let base = PROCESSES_AT + i * PROCESS_WORDS;
            let current = self.word(base + P_PID).load(Relaxed);
            let free = current == 0 || (current != pid as u64 && !alive(current as u32));
            if free && self.word(base + P_PID).compare_exchange(current, pid as u64, Relaxed, Relaxed).is_ok() {
                self.word(base + P_GROUP).store(group as u64, Relaxed);
                self.word(base + P_KIND).store(kind as u64, Relaxed);
                self.word(base + P_THREADS).store(threads as u64, Relaxed);
                self.word(base + P_ACTIVE).store(0, Relaxed);
                self.word(base + P_REQUESTS).store(0, Relaxed);
                return Some(Slot { table: *self, base, group });
            }
        }
        None
    }

    pub fn add_restart(&self, group: usize, reason: RestartReason) {
        let i = RestartReason::ALL.iter().position(|r| *r == reason).unwrap_or(0);
        self.word(Self::group_base(group) + G_RESTARTS + i).fetch_add(1, Relaxed);
    }

    pub fn add_reload(&self, group: usize) {
        self.word(Self::group_base(group) + G_RELOADS).fetch_add(1, Relaxed);
    }

    fn observe(&self, group: usize, phase: Phase, took: Duration) {
        let p = Phase::ALL.iter().position(|x| *x == phase).unwrap_or(0);
        let base = Self::group_base(group) + G_HIST + p * HIST_WORDS;
        let secs = took.as_secs_f64();
        let bucket = BUCKETS.iter().position(|&le| secs <= le).unwrap_or(BUCKETS.len());
        self.word(base + bucket).fetch_add(1, Relaxed);
        self.word(base + BUCKETS.len() + 1).fetch_add(1, Relaxed);
        self.word(base + BUCKETS.len() + 2).fetch_add(took.as_micros() as u64, Relaxed);
    }

    /// What a scrape reports: every named group and every live process.
    pub fn snapshot(&self, alive: impl Fn(u32) -> bool) -> Snapshot {
        let groups = (0..self.group_count())
            .map(|g| {
                let base = Self::group_base(g);
                let load = |i: usize| self.word(base + i).load(Relaxed);
                GroupFigures {
                    name: self.group_name(g),
                    requests: std::array::from_fn(|c| load(G_REQUESTS + c)),
                    phases: Phase::ALL.map(|p| {
                        let at = G_HIST + Phase::ALL.iter().position(|x| *x == p).unwrap_or(0) * HIST_WORDS;
                        Histogram {
                            buckets: (0..=BUCKETS.len()).map(|b| load(at + b)).collect(),
                            count: load(at + BUCKETS.len() + 1),
                            sum_seconds: load(at + BUCKETS.len() + 2) as f64 / 1e6,
                        }
                    }),
                    restarts: RestartReason::ALL.map(|r| load(G_RESTARTS + RestartReason::ALL.iter().position(|x| *x == r).unwrap_or(0))),
                    reloads: load(G_RELOADS),
                }
            })
            .collect();
        let processes = (0..MAX_PROCESSES)
            .filter_map(|i| {
                let base = PROCESSES_AT + i * PROCESS_WORDS;
                let load = |k: usize| self.word(base + k).load(Relaxed);
                let pid = load(P_PID) as u32;
                (pid != 0 && alive(pid)).then(|| ProcessFigures {
                    pid,
                    group: load(P_GROUP) as usize,
                    kind: if load(P_KIND) == Kind::DaemonProcess as u64 { Kind::DaemonProcess } else { Kind::ApacheChild },
                    threads: load(P_THREADS),
                    active: load(P_ACTIVE),
                    requests: load(P_REQUESTS),
                })
            })
            .collect();
        Snapshot { groups, processes }
    }
}

/// This process's place in the table.
#[derive(Clone, Copy)]
pub struct Slot {
    table: Table,
    base: usize,
    group: usize,
}

impl Slot {
    pub fn request_started(&self) {
        self.table.word(self.base + P_ACTIVE).fetch_add(1, Relaxed);
    }

    /// A request ended with `status` (0: no response) after `application` in the app, of
    /// which `gil_wait` waiting for the GIL.
    pub fn request_finished(&self, status: u16, application: Duration, gil_wait: Duration) {
        let t = &self.table;
        t.word(self.base + P_ACTIVE).fetch_sub(1, Relaxed);
        t.word(self.base + P_REQUESTS).fetch_add(1, Relaxed);
        // no status (the client left, the app failed before answering) counts as 5xx, as
        // mod_wsgi 6's metrics count it
        let class = match status {
            100..=599 => status as usize / 100 - 1,
            _ => 4,
        };
        t.word(Table::group_base(self.group) + G_REQUESTS + class).fetch_add(1, Relaxed);
        t.observe(self.group, Phase::Application, application);
        t.observe(self.group, Phase::GilWait, gil_wait);
    }

    /// Daemon mode: how long the request queued for this process and waited inside it.
    pub fn daemon_times(&self, queue: Duration, daemon: Duration) {
        self.table.observe(self.group, Phase::Queue, queue);
        self.table.observe(self.group, Phase::Daemon, daemon);
    }

    pub fn reload(&self) {
        self.table.add_reload(self.group);
    }
}

pub struct Histogram {
    /// Per bucket (not cumulative), the last one above every bound.
    pub buckets: Vec<u64>,
    pub count: u64,
    pub sum_seconds: f64,
}

pub struct GroupFigures {
    pub name: String,
    /// 1xx..5xx
    pub requests: [u64; 5],
    pub phases: [Histogram; 4],
    pub restarts: [u64; 5],
    pub reloads: u64,
}

pub struct ProcessFigures {
    pub pid: u32,
    pub group: usize,
    pub kind: Kind,
    pub threads: u64,
    pub active: u64,
    pub requests: u64,
}

pub struct Snapshot {
    pub groups: Vec<GroupFigures>,
    pub processes: Vec<ProcessFigures>,
}

/// The table of the current Apache generation, made by the parent before it forks.
static CURRENT: Mutex<Option<Table>> = Mutex::new(None);
/// This process's slot, once it serves (Apache child or daemon process).
static MINE: OnceLock<Slot> = OnceLock::new();

/// The parent, at each configuration: a fresh table for the processes about to be forked.
pub fn install(table: Table) {
    *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = Some(table);
}

pub fn current() -> Option<Table> {
    *CURRENT.lock().unwrap_or_else(|e| e.into_inner())
}

/// A serving process takes its slot (once).
pub fn join(pid: u32, group: &str, kind: Kind, threads: u32, alive: impl Fn(u32) -> bool) {
    if let Some(t) = current() {
        let index = t.group_index(group);
        if let Some(slot) = t.claim(pid, index, kind, threads, alive) {
            let _ = MINE.set(slot);
        }
    }
}

/// A daemon process of `group` was replaced (the supervisor says why).
pub fn restart(group: &str, reason: RestartReason) {
    if let Some(t) = current() {
        t.add_restart(t.group_index(group), reason);
    }
}

/// The code of `group` was reloaded.
pub fn reload(group: &str) {
    if let Some(t) = current() {
        t.add_reload(t.group_index(group));
    }
}

/// This process's slot, if it has one.
pub fn mine() -> Option<&'static Slot> {
    MINE.get()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let words: Vec<AtomicU64> = (0..WORDS).map(|_| AtomicU64::new(0)).collect();
        Table::over(Box::leak(words.into_boxed_slice())).unwrap()
    }

    #[test]
    fn groups_are_named_and_found() {
        let t = table();
        t.name_groups(["web", "a-rather-long-process-group-name-that-fills-most-of-64-bytes!"]);
        assert_eq!(t.group_count(), 3);
        assert_eq!(t.group_index("web"), 1);
        assert_eq!(t.group_name(2), "a-rather-long-process-group-name-that-fills-most-of-64-bytes!");
        assert_eq!(t.group_index("unknown"), 0);
    }

    #[test]
    fn requests_land_in_their_group_class_and_buckets() {
        let t = table();
        t.name_groups(["web"]);
        let slot = t.claim(42, 1, Kind::DaemonProcess, 10, |_| true).unwrap();
        slot.request_started();
        slot.request_finished(200, Duration::from_millis(3), Duration::from_micros(100));
        slot.request_started();
        slot.request_finished(0, Duration::from_secs(100), Duration::ZERO);
        let s = t.snapshot(|_| true);
        assert_eq!(s.groups[1].requests, [0, 1, 0, 0, 1]);
        let app = &s.groups[1].phases[2];
        assert_eq!(app.count, 2);
        assert_eq!(app.buckets[3], 1, "3 ms is in the 5 ms bucket");
        assert_eq!(app.buckets[BUCKETS.len()], 1, "100 s is above every bound");
        assert!((app.sum_seconds - 100.003).abs() < 1e-6);
        assert_eq!(s.processes.len(), 1);
        assert_eq!((s.processes[0].pid, s.processes[0].active, s.processes[0].requests), (42, 0, 2));
    }

    #[test]
    fn a_dead_process_frees_its_slot_but_not_the_group_totals() {
        let t = table();
        let first = t.claim(7, 0, Kind::ApacheChild, 25, |_| true).unwrap();
        first.request_started();
        first.request_finished(404, Duration::ZERO, Duration::ZERO);
        assert!(t.snapshot(|pid| pid != 7).processes.is_empty());
        let again = t.claim(8, 0, Kind::ApacheChild, 25, |pid| pid != 7).unwrap();
        assert_eq!(again.base, first.base, "the slot of the dead pid is reused");
        assert_eq!(t.snapshot(|_| true).groups[0].requests[3], 1);
    }
}
