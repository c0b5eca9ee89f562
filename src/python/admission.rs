//! Admission into Python: how many request threads run Python at once under one GIL.
//!
//! CPython's GIL is not fair. With 64 request threads wanting it, a thread that gave it up (for
//! I/O, or at the switch interval) can lose the race to take it back many times over, and the
//! slowest requests take many times the median: a GIL convoy. While the machine's CPUs are
//! busy, more threads in Python cannot serve more requests, so only `BASE` request threads are
//! admitted per GIL and the others wait here, in arrival order, without touching the GIL.
//!
//! An application that blocks (a database query, `time.sleep`) keeps its admission while it
//! waits, so a fixed limit would leave the CPU idle while requests queue. The thread at the
//! head of the queue therefore samples, every `SAMPLE`, how many admitted threads are running
//! or waiting for a CPU (state R; a thread waiting for the GIL or for I/O sleeps). Fewer than
//! one on average means the GIL has time to spare: the limit grows. About one or more means the
//! GIL (or the CPU it runs on) is saturated: the limit shrinks back toward `BASE`.

#![forbid(unsafe_code)]

use crate::sys::usage::{thread_id, thread_is_runnable};
use std::collections::VecDeque;
use std::marker::PhantomData;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Request threads admitted per GIL on a busy machine: one runs Python while the other does
/// its I/O with the GIL released.
const BASE: usize = 2;
const MAX: usize = 4096;
/// How often the head of the queue samples the admitted threads.
const SAMPLE: Duration = Duration::from_millis(5);
/// Weight of the newest sample in the running average (about four samples' memory).
const NEWEST: f64 = 0.25;

/// One GIL's admission queue.
pub struct Admission {
    inner: Mutex<Inner>,
    /// Whether a thread wants a CPU (a parameter so tests can fake the threads' states).
    runnable: fn(i32) -> Option<bool>,
    adaptive: bool,
}

struct Inner {
    limit: usize,
    next_ticket: u64,
    /// Waiting threads in arrival order, each woken through its own condvar.
    queue: VecDeque<(u64, Arc<Condvar>)>,
    /// Kernel thread ids of the admitted threads, with the admission each belongs to.
    admitted: Vec<(u64, i32)>,
    next_id: u64,
    /// Running average of admitted threads wanting a CPU, and when it was last sampled.
    runnable: f64,
    sampled: Option<Instant>,
}

/// The limit after a sample: grow by half while the admitted threads mostly sleep (blocked on
/// something other than the CPU: the GIL has room); shrink by a quarter while about one or
/// more of them wants a CPU all the time (the GIL is busy).
pub(crate) fn next_limit(limit: usize, runnable_average: f64) -> usize {
    if runnable_average < 0.5 {
        (limit + (limit / 2).max(1)).min(MAX)
    } else if runnable_average >= 0.9 && limit > BASE {
        (limit - (limit / 4).max(1)).max(BASE)
    } else {
        limit
    }
}

/// Held while a request thread may run Python; dropping it lets the next one in. Not Send:
/// it must be dropped by the thread whose CPU clock it registered.
pub struct Admitted<'a> {
    gate: &'a Admission,
    id: u64,
    _same_thread: PhantomData<*const ()>,
}

impl Admission {
    pub const fn new() -> Admission {
        Admission::with_parts(BASE, thread_is_runnable, true)
    }

    const fn with_parts(limit: usize, runnable: fn(i32) -> Option<bool>, adaptive: bool) -> Admission {
        Admission {
            inner: Mutex::new(Inner {
                limit,
                next_ticket: 0,
                queue: VecDeque::new(),
                admitted: Vec::new(),
                next_id: 0,
                runnable: 1.0,
                sampled: None,
            }),
            runnable,
            adaptive,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until this thread may run Python. Threads are admitted in arrival order.
    pub fn enter(&self) -> Admitted<'_> {
        let mut inner = self.lock();
        if inner.queue.is_empty() && inner.admitted.len() < inner.limit {
            return self.admit(&mut inner);
        }
        let me = Arc::new(Condvar::new());
        let ticket = inner.next_ticket;
        inner.next_ticket += 1;
        inner.queue.push_back((ticket, me.clone()));
        loop {
            let at_head = inner.queue.front().is_some_and(|(t, _)| *t == ticket);
            if !at_head {
                inner = me.wait(inner).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            // Judged only while full: a sample taken as a thread leaves would count one short.
            if self.adaptive && inner.admitted.len() >= inner.limit {
                self.judge(&mut inner);
            }
            if inner.admitted.len() < inner.limit {
                inner.queue.pop_front();
                let admitted = self.admit(&mut inner);
                // The next in line becomes the head: it may fit too, and it keeps the watch.
                if let Some((_, next)) = inner.queue.front() {
                    next.notify_one();
                }
                return admitted;
            }
            inner = me.wait_timeout(inner, SAMPLE).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    fn admit(&self, inner: &mut Inner) -> Admitted<'_> {
        let id = inner.next_id;
        inner.next_id += 1;
        inner.admitted.push((id, thread_id()));
        Admitted { gate: self, id, _same_thread: PhantomData }
    }

    /// At most once per `SAMPLE`: count the admitted threads that want a CPU, move the limit.
    fn judge(&self, inner: &mut Inner) {
        let now = Instant::now();
        let fresh = inner.sampled.is_some_and(|at| now.duration_since(at) <= 4 * SAMPLE);
        if inner.sampled.is_some_and(|at| now.duration_since(at) < SAMPLE) {
            return;
        }
        // The admitted threads are alive: each leaves only under this lock. An unreadable
        // state counts as sleeping: every thread in Python, as mod_wsgi has it.
        let wanting = inner.admitted.iter().filter(|(_, tid)| (self.runnable)(*tid) == Some(true)).count() as f64;
        // A queue that has just formed starts from "busy" and earns its growth.
        let previous = if fresh { inner.runnable } else { 1.0 };
        inner.runnable = previous * (1.0 - NEWEST) + wanting * NEWEST;
        inner.sampled = Some(now);
        inner.limit = next_limit(inner.limit, inner.runnable);
    }

    #[cfg(test)]
    fn counts(&self) -> (usize, usize, usize) {
        let inner = self.lock();
        (inner.admitted.len(), inner.queue.len(), inner.limit)
    }
}

impl Default for Admission {
    fn default() -> Self {
        Admission::new()
    }
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        let mut inner = self.gate.lock();
        if let Some(i) = inner.admitted.iter().position(|(id, _)| *id == self.id) {
            inner.admitted.swap_remove(i);
        }
        if let Some((_, head)) = inner.queue.front() {
            head.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn the_limit_grows_while_admitted_threads_sleep_and_shrinks_while_they_run() {
        assert_eq!(next_limit(2, 0.1), 3);
        assert_eq!(next_limit(8, 0.3), 12);
        assert_eq!(next_limit(MAX, 0.0), MAX);
        assert_eq!(next_limit(8, 1.0), 6);
        assert_eq!(next_limit(3, 0.95), 2);
        assert_eq!(next_limit(2, 1.7), 2);
        assert_eq!(next_limit(5, 0.7), 5);
    }

    fn wait_for(gate: &Admission, f: impl Fn((usize, usize, usize)) -> bool) {
        let start = Instant::now();
        while !f(gate.counts()) {
            assert!(start.elapsed() < Duration::from_secs(10), "gave up waiting: {:?}", gate.counts());
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn waiting_threads_are_admitted_in_arrival_order_and_never_beyond_the_limit() {
        let gate: &'static Admission = Box::leak(Box::new(Admission::with_parts(2, |_| None, false)));
        let first = gate.enter();
        let second = gate.enter();
        let order = Arc::new(Mutex::new(Vec::new()));
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut threads = Vec::new();
        for n in 0..6 {
            let (order, inside, most) = (order.clone(), inside.clone(), most.clone());
            threads.push(std::thread::spawn(move || {
                let _in = gate.enter();
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                order.lock().unwrap().push(n);
                std::thread::sleep(Duration::from_millis(5));
                inside.fetch_sub(1, Ordering::SeqCst);
            }));
            wait_for(gate, |(_, queued, _)| queued == n + 1);
        }
        // `first` keeps one of the two places, so the queued threads go in one at a time and
        // the order they record is the order they were let in (two let in at once could
        // record in either order).
        drop(second);
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), (0..6).collect::<Vec<_>>());
        assert_eq!(most.load(Ordering::SeqCst), 1, "with `first` inside, the limit of 2 leaves one place");
        drop(first);
        assert_eq!(gate.counts(), (0, 0, 2));
    }

    /// BASE threads admitted that each sleep `hold` inside; returns once all are in.
    fn fill(gate: &'static Admission, hold: Duration) -> Vec<std::thread::JoinHandle<()>> {
        let threads = (0..BASE)
            .map(|_| {
                std::thread::spawn(move || {
                    let _in = gate.enter();
                    std::thread::sleep(hold);
                })
            })
            .collect();
        wait_for(gate, |(admitted, _, _)| admitted == BASE);
        threads
    }

    #[test]
    fn sleeping_admitted_threads_let_more_in() {
        let gate: &'static Admission = Box::leak(Box::new(Admission::with_parts(BASE, |_| Some(false), true)));
        let sleepers = fill(gate, Duration::from_millis(1500)); // a slow database
        let started = Instant::now();
        std::thread::spawn(move || drop(gate.enter())).join().unwrap();
        assert!(started.elapsed() < Duration::from_millis(1000), "waited {:?}", started.elapsed());
        assert!(gate.counts().2 > BASE);
        for s in sleepers {
            s.join().unwrap();
        }
    }

    #[test]
    fn running_admitted_threads_keep_the_limit() {
        let gate: &'static Admission = Box::leak(Box::new(Admission::with_parts(BASE, |_| Some(true), true)));
        let holders = fill(gate, Duration::from_millis(300));
        let started = Instant::now();
        std::thread::spawn(move || drop(gate.enter())).join().unwrap();
        // it had to wait for a holder to leave
        assert!(started.elapsed() >= Duration::from_millis(150), "waited {:?}", started.elapsed());
        assert_eq!(gate.counts().2, BASE);
        for h in holders {
            h.join().unwrap();
        }
    }
}
