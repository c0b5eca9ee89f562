//! One supervisor process per pool, forked from Apache's parent: it forks the pool's workers,
//! restarts one that dies (at once, or with a growing delay when it keeps dying at start-up),
//! and on a reload request starts a new generation, retiring the old one only as the new
//! workers become ready. It never runs Python.

use crate::metrics::table::{self as metrics, RestartReason};
use super::{pools, worker};
use crate::apache::Server;
use crate::apache::log::Level;
use crate::apache::server;
use crate::sys::process::{self, Exit, Forked, Pid};
use crate::sys::socket;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

struct Worker {
    pid: Pid,
    generation: u64,
    started: Instant,
    ready: bool,
    retiring: bool,
}

struct Supervisor {
    pid: Pid,
    name: String,
    processes: usize,
    shutdown_timeout: Duration,
    main: Server<'static>,
    control_write: OwnedFd,
    workers: Vec<Worker>,
    generation: u64,
    /// Start-up crashes in a row, for the restart delay.
    quick_deaths: u32,
    next_spawn: Instant,
}

const SIGNALS: [i32; 5] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGUSR1, libc::SIGCHLD];

pub fn run(name: &str, main: Server<'static>, apache: Pid) -> ! {
    process::reset_signal_handlers(&[libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGUSR1, libc::SIGUSR2, libc::SIGCHLD, libc::SIGPIPE, libc::SIGWINCH]);
    process::block_signals(&SIGNALS);
    // If Apache's parent is killed outright, the pool goes with it instead of lingering.
    process::die_with_parent(libc::SIGTERM, apache);
    server::close_apache_listeners();
    pools::close_listeners_except(Some(name));
    process::set_thread_name(&format!("wsgi-sup:{name}"));
    let Some((processes, shutdown_timeout)) = pools::with_pool(name, |p| (p.group.processes as usize, p.group.shutdown_timeout)) else {
        process::exit_now(1)
    };
    let (control_read, control_write) = match socket::pipe() {
        Ok(p) => p,
        Err(e) => {
            main.log(Level::Error, &format!("mod_wsgi: supervisor of '{name}' cannot create its pipe: {e}"));
            process::exit_now(1)
        }
    };
    let _ = socket::set_nonblocking(control_read.as_fd(), true);
    let mut sup = Supervisor {
        pid: process::pid(),
        name: name.to_string(),
        processes,
        shutdown_timeout: Duration::from_secs_f64(shutdown_timeout),
        main,
        control_write,
        workers: Vec::new(),
        generation: 1,
        quick_deaths: 0,
        next_spawn: Instant::now(),
    };
    let mut control = std::fs::File::from(control_read);
    let mut pending = Vec::new();
    loop {
        sup.top_up();
        if let Some(sig) = process::wait_signal(&SIGNALS, Duration::from_millis(0)) {
            match sig {
                libc::SIGCHLD => {}
                libc::SIGUSR1 => {
                    sup.start_generation("graceful restart signal");
                    metrics::restart(&sup.name, RestartReason::Graceful);
                }
                _ => sup.shutdown(),
            }
        }
        // Messages first: a worker says "leaving" before it exits, so its exit is expected.
        let mut buf = [0u8; 512];
        while let Ok(n) = control.read(&mut buf) {
            if n == 0 {
                break;
            }
            pending.extend_from_slice(&buf[..n]);
        }
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            sup.message(String::from_utf8_lossy(&line).trim());
        }
        sup.reap();
        let _ = socket::poll2(control.as_fd(), None, Some(Duration::from_millis(50)));
        sup.retire_replaced();
    }
}

impl Supervisor {
    fn current(&self) -> impl Iterator<Item = &Worker> {
        self.workers.iter().filter(|w| !w.retiring)
    }

    /// Keeps `processes` live workers of the newest generation.
    fn top_up(&mut self) {
        let live = self.current().filter(|w| w.generation == self.generation).count();
        if live >= self.processes || Instant::now() < self.next_spawn {
            return;
        }
        for _ in live..self.processes {
            self.spawn();
        }
    }

    fn spawn(&mut self) {
        let generation = self.generation;
        match process::fork() {
            Ok(Forked::Child) => match self.control_write.try_clone() {
                Ok(control) => worker::run(&self.name, self.main, control, self.pid),
                Err(_) => process::exit_now(1),
            },
            Ok(Forked::Parent(pid)) => {
                self.workers.push(Worker { pid, generation, started: Instant::now(), ready: false, retiring: false });
            }
            Err(e) => {
                self.main.log(Level::Error, &format!("mod_wsgi: cannot fork a daemon process for '{}': {e}", self.name));
                self.next_spawn = Instant::now() + Duration::from_secs(1);
            }
        }
    }

    fn message(&mut self, line: &str) {
        let mut words = line.split_whitespace();
        let (Some(what), Some(pid)) = (words.next(), words.next().and_then(|p| p.parse::<Pid>().ok())) else { return };
        match what {
            "ready" => {
                if let Some(w) = self.workers.iter_mut().find(|w| w.pid == pid) {
                    w.ready = true;
                }
                self.quick_deaths = 0;
            }
            // A worker saw a changed script (it stops taking requests itself).
            "reload" => {
                let generation = self.workers.iter().find(|w| w.pid == pid).map(|w| w.generation);
                if let Some(w) = self.workers.iter_mut().find(|w| w.pid == pid) {
                    w.retiring = true;
                }
                if generation == Some(self.generation) {
                    self.start_generation("script changed");
                    metrics::reload(&self.name);
                    metrics::restart(&self.name, RestartReason::ScriptChanged);
                }
            }
            // A worker is leaving on its own (maximum-requests, inactivity...).
            "leaving" => {
                if let Some(w) = self.workers.iter_mut().find(|w| w.pid == pid) {
                    w.retiring = true;
                    metrics::restart(&self.name, RestartReason::Retired);
                }
            }
            _ => {}
        }
    }

    /// New generation: the old workers keep serving until the new ones are ready.
    fn start_generation(&mut self, why: &str) {
        self.main.log(Level::Info, &format!("mod_wsgi: restarting daemon process group '{}' ({why})", self.name));
        self.generation += 1;
        self.next_spawn = Instant::now();
    }

    /// Once the newest generation is fully ready, older workers are told to drain and exit.
    fn retire_replaced(&mut self) {
        let ready = self.workers.iter().filter(|w| w.generation == self.generation && w.ready && !w.retiring).count();
        if ready < self.processes {
            return;
        }
        for w in self.workers.iter_mut().filter(|w| w.generation < self.generation && !w.retiring) {
            w.retiring = true;
            process::signal(w.pid, libc::SIGUSR1);
        }
    }

    fn reap(&mut self) {
        while let Some((pid, exit)) = process::reap_any() {
            let Some(pos) = self.workers.iter().position(|w| w.pid == pid) else { continue };
            let w = self.workers.remove(pos);
            if w.retiring && matches!(exit, Exit::Code(0)) {
                continue;
            }
            let how = match exit {
                Exit::Code(c) => format!("exited with status {c}"),
                Exit::Signal(s) => format!("was killed by signal {s}"),
            };
            metrics::restart(&self.name, if matches!(exit, Exit::Signal(_)) { RestartReason::Signal } else { RestartReason::Exit });
            let quick = w.started.elapsed() < Duration::from_secs(2) && !w.ready;
            if quick {
                self.quick_deaths += 1;
                let delay = Duration::from_millis(250u64 << self.quick_deaths.min(6));
                self.next_spawn = Instant::now() + delay;
                self.main.log(Level::Error, &format!("mod_wsgi: daemon process '{}' (pid {pid}) {how} during start-up; next start in {:.1}s", self.name, delay.as_secs_f64()),
                );
            } else {
                self.main.log(Level::Error, &format!("mod_wsgi: daemon process '{}' (pid {pid}) {how}; starting a replacement", self.name));
            }
        }
    }

    /// SIGTERM from Apache's parent: workers stop within shutdown-timeout, then we exit.
    fn shutdown(&mut self) -> ! {
        for w in &self.workers {
            process::signal(w.pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + self.shutdown_timeout + Duration::from_millis(500);
        while !self.workers.is_empty() && Instant::now() < deadline {
            while let Some((pid, _)) = process::reap_any() {
                self.workers.retain(|w| w.pid != pid);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for w in &self.workers {
            process::signal(w.pid, libc::SIGKILL);
            let _ = process::reap(w.pid);
        }
        process::exit_now(0)
    }
}
