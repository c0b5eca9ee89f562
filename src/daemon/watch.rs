//! A daemon process's fail-safes: requests running longer than request-timeout (stack dump,
//! RequestTimeout injected after interrupt-timeout's grace, 504 for the client, restart when
//! they will not end), scripts that keep failing to load (startup-timeout) and a GIL nobody
//! can take (deadlock-timeout).

use super::wire::{self, Frame, Outcome, Pairs, ResponseHead};
use crate::python::exceptions::{self};
use crate::python::interp::{self, Interpreter};
use crate::wsgi::transport::LogLevel;
use pyo3::prelude::*;
use std::collections::HashMap;
use std::os::fd::RawFd;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub struct Active {
    pub started: Instant,
    /// pthread id = Python's thread ident, for the stack dump and PyThreadState_SetAsyncExc.
    pub thread: u64,
    /// The thread's number in the pool (mod_wsgi.thread_id), for mod_wsgi's log line.
    pub thread_index: usize,
    pub interp: &'static Interpreter,
    pub script: String,
    /// The connection to the Apache child, to answer 504 if the thread cannot.
    pub conn: RawFd,
    pub interrupted: Option<Instant>,
    pub answered: bool,
}

#[derive(Default)]
pub struct Watch {
    active: Mutex<HashMap<u64, Active>>,
    /// Milliseconds since the epoch at which the GIL was last taken by the watchdog.
    pub gil_seen_ms: AtomicU64,
    first_load_failure: Mutex<Option<Instant>>,
}

pub enum Verdict {
    Fine,
    /// Stop taking work and restart this process (reason for process_stopping).
    Restart(&'static str),
    /// The GIL is stuck: exit at once.
    Deadlocked,
}

pub fn thread_id() -> u64 {
    crate::sys::process::thread_id()
}

impl Watch {
    pub fn begin(&self, a: Active) {
        self.active.lock().unwrap_or_else(|e| e.into_inner()).insert(a.thread, a);
    }

    /// Ends the current thread's request; true if it was timed out (answer 504, not 500).
    pub fn end(&self) -> Option<Active> {
        self.active.lock().unwrap_or_else(|e| e.into_inner()).remove(&thread_id())
    }

    pub fn load_failed(&self) -> Duration {
        let mut first = self.first_load_failure.lock().unwrap_or_else(|e| e.into_inner());
        first.get_or_insert_with(Instant::now).elapsed()
    }

    pub fn load_succeeded(&self) {
        *self.first_load_failure.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Called about ten times a second by the process's main thread.
    pub fn check(&self, g: &crate::config::daemon::DaemonGroup, now_ms: u64, log: fn(LogLevel, &str)) -> Verdict {
        if g.deadlock_timeout > 0.0 && now_ms.saturating_sub(self.gil_seen_ms.load(Ordering::Relaxed)) as f64 > g.deadlock_timeout * 1000.0 {
            log(LogLevel::Error, &format!("mod_wsgi: daemon process '{}': Python's GIL could not be taken for {}s (deadlock-timeout); restarting", g.name, g.deadlock_timeout));
            return Verdict::Deadlocked;
        }
        if g.request_timeout <= 0.0 {
            return Verdict::Fine;
        }
        let limit = Duration::from_secs_f64(g.request_timeout);
        let mut restart = false;
        let mut overdue = Vec::new();
        {
            let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
            for a in active.values_mut() {
                if a.started.elapsed() < limit {
                    continue;
                }
                match a.interrupted {
                    None => {
                        a.interrupted = Some(Instant::now());
                        overdue.push((a.thread, a.thread_index, a.interp, a.script.clone(), a.conn, a.answered));
                        // Without interruption the 504 is written below, by this thread.
                        a.answered |= g.interrupt_timeout <= 0.0;
                    }
                    Some(at) if at.elapsed().as_secs_f64() >= g.interrupt_timeout => restart = true,
                    Some(_) => {}
                }
            }
        }
        for (thread, thread_index, interp, script, conn, answered) in overdue {
            log(LogLevel::Error, &format!("mod_wsgi: daemon process '{}': request for '{script}' exceeded request-timeout of {}s; stack of thread {thread}:", g.name, g.request_timeout));
            interp::with(interp, |py| {
                for line in stack_of(py, thread) {
                    log(LogLevel::Error, &line);
                }
                if g.interrupt_timeout > 0.0 {
                    inject_timeout(py, interp, thread);
                    log(LogLevel::Info, &format!("Injected RequestTimeout into thread {thread_index} of daemon process '{}'.", g.name));
                }
            });
            if g.interrupt_timeout <= 0.0 {
                // No interruption: the client gets its 504 now and the process restarts.
                if !answered {
                    answer_timeout(conn);
                }
                restart = true;
            }
        }
        if restart { Verdict::Restart("request_timeout") } else { Verdict::Fine }
    }
}

fn stack_of(py: Python<'_>, thread: u64) -> Vec<String> {
    let formatted = py.import("sys").and_then(|sys| sys.call_method0("_current_frames")).and_then(|frames| {
        match frames.get_item(thread) {
            Ok(frame) => py.import("traceback")?.call_method1("format_stack", (frame,))?.extract::<Vec<String>>(),
            Err(e) => Err(e),
        }
    });
    match formatted {
        Ok(parts) => parts.concat().lines().map(str::to_string).collect(),
        Err(e) => {
            exceptions::swallow(py, e);
            vec!["(stack not available)".into()]
        }
    }
}

fn inject_timeout(py: Python<'_>, interp: &Interpreter, thread: u64) {
    let Some(glue) = interp.glue() else { return };
    match glue.module.bind(py).getattr("RequestTimeout") {
        Ok(kind) => crate::python::native::raise_in_thread(py, thread, &kind),
        Err(e) => exceptions::swallow(py, e),
    }
}

/// Writes a 504 response straight onto the connection of a request whose thread is stuck.
pub fn answer_timeout(conn: RawFd) {
    let mut out = Vec::new();
    if let Ok(head) = ResponseHead::new(504, b"504 Gateway Timeout".to_vec(), Pairs::new()) {
        wire::encode(&Frame::ResponseHead(head), &mut out);
    }
    wire::encode(&Frame::End(Outcome::Complete), &mut out);
    // Then shut: the application may still be running and write more, and none of it may
    // reach the Apache child, which would take it for the answer to its next request.
    crate::sys::socket::answer_and_shut(conn, &out);
}
