//! A daemon process: forked by its pool's supervisor, it drops privileges, starts Python,
//! and serves requests from Apache children with `threads` threads. Apache children keep
//! connections open between requests; idle threads wait in one epoll set holding the pool's
//! listening socket and those idle connections, and each readiness wakes one thread. It drains
//! and exits on SIGUSR1 (replaced by a new generation), on SIGTERM (shutdown), after
//! maximum-requests, restart-interval or inactivity-timeout, and when it sees a changed script.

use super::pools;
use super::transport::{self, Connection, DaemonTransport};
use super::watch::{self, Active, Verdict, Watch};
use super::wire::{Frame, Outcome, RejectReason, RequestHead};
use crate::apache::Server;
use crate::apache::log::Level;
use crate::apache::server;
use crate::apache::slots::server_config_of;
use crate::config::daemon::DaemonGroup;
use crate::host::python;
use crate::host::serve::{AppRequest, Served, Site, file_mtime_us, serve_app};
use crate::python::exceptions::{OrRaise, PyRes};
use crate::python::gil;
use crate::python::interp::{self, Interpreter};
use crate::sys::poller::Poller;
use crate::sys::process;
use crate::sys::socket;
use crate::wsgi::run::Outcome as RunOutcome;
use crate::wsgi::transport::LogLevel;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

struct Shared {
    name: String,
    group: DaemonGroup,
    listener: OwnedFd,
    secret: [u8; super::wire::SECRET_LEN],
    case_sensitive: bool,
    /// The pipe to the supervisor.
    control: std::fs::File,
    draining: AtomicBool,
    busy: AtomicUsize,
    served: AtomicU64,
    last_activity_ms: AtomicU64,
    /// inactivity-timeout is armed by the first request (mod_wsgi).
    had_request: AtomicBool,
    watch: Watch,
    poller: Poller,
    /// Connections between requests, by descriptor (their epoll token).
    idle: Mutex<HashMap<RawFd, Connection>>,
}

/// The listening socket's epoll token; a connection's is its descriptor.
const LISTENER: u64 = u64::MAX;

/// A line for this process's error log (no request: the caller adds `[remote ...]`).
fn log_line(level: LogLevel, line: &str) {
    python::log_to_server(level, line);
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

pub fn run(name: &str, main: Server<'static>, control: OwnedFd, supervisor: process::Pid) -> ! {
    python::set_main_server(main);
    process::reset_signal_handlers(&[libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGUSR1, libc::SIGUSR2, libc::SIGCHLD, libc::SIGWINCH]);
    // A write to an Apache child that went away must fail, not kill the process.
    process::ignore_sigpipe();
    server::close_apache_listeners();
    pools::close_listeners_except(Some(name));
    let (Some((group, secret)), Some(Ok(listener))) = (pools::with_pool(name, |p| (p.group.clone(), p.secret)), pools::listener_of(name)) else {
        process::exit_now(1)
    };
    // The registry's copy goes: this process serves through its own.
    pools::close_listeners_except(None);
    let pid = process::pid();
    if let Err(e) = set_up_process(&group, main) {
        main.log(Level::Error, &format!("mod_wsgi: daemon process '{name}' (pid {pid}) cannot start: {e}"));
        process::exit_now(1);
    }
    // After the switch of user, which clears it: a worker never outlives its supervisor.
    process::die_with_parent(libc::SIGTERM, supervisor);
    // Woken threads race to accept (other processes watch the same socket): the loser must
    // not block. Every process of the pool shares this socket and sets it the same way.
    let _ = socket::set_nonblocking(listener.as_fd(), true);
    let poller = match Poller::new().and_then(|p| p.watch(&listener, LISTENER).map(|_| p)) {
        Ok(p) => p,
        Err(e) => {
            main.log(Level::Error, &format!("mod_wsgi: daemon process '{name}' (pid {pid}) cannot watch its socket: {e}"));
            process::exit_now(1);
        }
    };
    crate::metrics::table::join(pid as u32, name, crate::metrics::Kind::DaemonProcess, group.threads.max(1) as u32, |p| process::exists(p as process::Pid));
    if !python::start_daemon_python(main, &group) {
        process::exit_now(1);
    }
    let shared = Arc::new(Shared {
        name: name.to_string(),
        case_sensitive: server_config_of(main).case_sensitive(),
        group,
        listener,
        secret,
        control: std::fs::File::from(control),
        draining: AtomicBool::new(false),
        busy: AtomicUsize::new(0),
        served: AtomicU64::new(0),
        last_activity_ms: AtomicU64::new(now_ms()),
        had_request: AtomicBool::new(false),
        watch: Watch::default(),
        poller,
        idle: Mutex::new(HashMap::new()),
    });
    shared.watch.gil_seen_ms.store(now_ms(), Ordering::Relaxed);
    const SIGNALS: [i32; 4] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGUSR1];
    process::block_signals(&SIGNALS);
    let threads = shared.group.threads.max(1);
    let mut handles = Vec::new();
    for i in 0..threads {
        let shared = shared.clone();
        let mut builder = std::thread::Builder::new().name(format!("wsgi-{i}"));
        if let Some(size) = shared.group.stack_size {
            builder = builder.stack_size(size as usize);
        }
        match builder.spawn(move || work_loop(&shared)) {
            Ok(h) => handles.push(h),
            Err(e) => main.log(Level::Error, &format!("mod_wsgi: daemon process '{name}': cannot start a thread: {e}")),
        }
    }
    if shared.group.deadlock_timeout > 0.0 {
        // Takes the GIL once a second; if it cannot, the main loop sees the time stand still.
        let watchdog = shared.clone();
        let _ = std::thread::Builder::new().name("wsgi-gil-watch".into()).spawn(move || {
            let Some(main_interp) = interp::main() else { return };
            loop {
                interp::with(main_interp, |_| ());
                watchdog.watch.gil_seen_ms.store(now_ms(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_secs(1));
            }
        });
    }
    tell_supervisor(&shared, "ready");
    main.log(Level::Info, &format!("mod_wsgi: daemon process '{name}' (pid {pid}) ready with {threads} threads"));
    let started = Instant::now();
    let (timeout, reason) = loop {
        let g = &shared.group;
        match process::wait_signal(&SIGNALS, Duration::from_millis(100)) {
            Some(libc::SIGUSR1) => {
                let t = if g.eviction_timeout > 0.0 { g.eviction_timeout } else { g.graceful_timeout };
                break (t, "graceful_signal");
            }
            Some(_) => break (g.shutdown_timeout, "shutdown_signal"),
            None => {}
        }
        if shared.draining.load(Ordering::Acquire) {
            break (g.graceful_timeout, "maximum_requests");
        }
        if shared.busy.load(Ordering::Acquire) >= threads as usize {
            bounce_waiting(&shared);
        }
        match shared.watch.check(g, now_ms(), log_line) {
            Verdict::Fine => {}
            Verdict::Restart(why) => {
                tell_supervisor(&shared, "leaving");
                break (g.graceful_timeout, why);
            }
            Verdict::Deadlocked => {
                tell_supervisor(&shared, "leaving");
                process::exit_now(1);
            }
        }
        if g.restart_interval > 0.0 && started.elapsed().as_secs_f64() >= g.restart_interval {
            tell_supervisor(&shared, "leaving");
            break (g.graceful_timeout, "restart_interval");
        }
        let idle_ms = now_ms().saturating_sub(shared.last_activity_ms.load(Ordering::Relaxed));
        let armed = shared.had_request.load(Ordering::Relaxed);
        if g.inactivity_timeout > 0.0 && armed && shared.busy.load(Ordering::Relaxed) == 0 && idle_ms as f64 >= g.inactivity_timeout * 1000.0 {
            tell_supervisor(&shared, "leaving");
            break (0.0, "inactivity_timeout");
        }
    };
    crate::telemetry::reporter::stopping(reason);
    stop_accepting(&shared);
    let deadline = Instant::now() + Duration::from_secs_f64(timeout.max(0.0));
    while shared.busy.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    if shared.busy.load(Ordering::Acquire) > 0 {
        main.log(Level::Warning, &format!("mod_wsgi: daemon process '{name}' (pid {pid}) exits with requests still running ({reason})"));
        crate::telemetry::reporter::stopped(reason);
        process::exit_now(0);
    }
    for h in handles {
        let _ = h.join();
    }
    crate::telemetry::reporter::stopped(reason);
    python::stop_python(main, reason);
    process::exit_now(0)
}

/// Privileges, directory, umask, limits, locale and title, before Python starts.
fn set_up_process(g: &DaemonGroup, main: Server<'_>) -> Result<(), String> {
    if let Some(title) = g.process_title() {
        server::set_process_title(main, &title);
        process::set_thread_name(&title);
    }
    if g.cpu_priority != 0 {
        process::set_priority(g.cpu_priority).map_err(|e| format!("cpu-priority: {e}"))?;
    }
    let (apache_uid, apache_gid, apache_name) = server::apache_user();
    let (uid, user_gid, user_name, user_home) = match &g.user {
        Some(u) => super::accounts::user(u)?,
        None => (apache_uid, apache_gid, apache_name, process::user_by_id(apache_uid).map(|u| u.2).unwrap_or_else(|| "/".into())),
    };
    if uid == 0 {
        return Err("WSGI process blocked from running as root".into());
    }
    let gid = match &g.group {
        Some(gr) => super::accounts::group(gr)?,
        None if g.user.is_some() => user_gid,
        None => apache_gid,
    };
    let extra: Vec<u32> = g.supplementary_groups.iter().map(super::accounts::group).collect::<Result<_, _>>()?;
    process::become_user(uid, gid, &user_name, &extra).map_err(|e| format!("switching to user {user_name}: {e}"))?;
    let home = g.home.clone().or_else(|| (uid != apache_uid).then_some(user_home.clone()));
    if let Some(dir) = &home {
        std::env::set_current_dir(dir).map_err(|e| format!("home={dir}: {e}"))?;
    }
    process::set_env("HOME", &user_home);
    for var in ["USER", "USERNAME", "LOGNAME"] {
        if std::env::var_os(var).is_some() {
            process::set_env(var, &user_name);
        }
    }
    if let Some(mask) = g.umask {
        process::set_umask(mask);
    }
    if g.cpu_time_limit > 0 {
        let hard = g.cpu_time_limit + 1 + g.shutdown_timeout as u64;
        process::set_limit(process::Limit::Cpu, g.cpu_time_limit, hard).map_err(|e| format!("cpu-time-limit: {e}"))?;
    }
    if g.memory_limit > 0 {
        process::set_limit(process::Limit::Data, g.memory_limit, g.memory_limit).map_err(|e| format!("memory-limit: {e}"))?;
    }
    if g.virtual_memory_limit > 0 {
        process::set_limit(process::Limit::AddressSpace, g.virtual_memory_limit, g.virtual_memory_limit)
            .map_err(|e| format!("virtual-memory-limit: {e}"))?;
    }
    if let Some(lang) = &g.lang {
        process::set_env("LANG", lang);
    }
    if let Some(locale) = &g.locale {
        process::set_env("LC_ALL", locale);
    }
    if (g.lang.is_some() || g.locale.is_some()) && !process::apply_locale() {
        main.log(Level::Warning, &format!("mod_wsgi: daemon process '{}': the locale is not installed; using C", g.name));
    }
    Ok(())
}

fn tell_supervisor(shared: &Shared, what: &str) {
    let line = format!("{what} {}\n", process::pid());
    let _ = (&shared.control).write_all(line.as_bytes());
}

/// How often a thread waiting for a connection checks whether the process is draining.
const WAKE: Duration = Duration::from_millis(100);

/// From now on no thread takes a new connection (queued ones go to other processes), and
/// idle connections are closed, so Apache children send their next requests elsewhere;
/// waiting threads notice within WAKE.
fn stop_accepting(shared: &Shared) {
    shared.draining.store(true, Ordering::Release);
    idle_connections(shared).clear();
}

/// All threads are busy: a request already sent on an idle connection would wait for one of
/// them while another process may be free. Closing such connections unread makes the Apache
/// child send those requests again on new connections, which any process can take.
fn bounce_waiting(shared: &Shared) {
    idle_connections(shared).retain(|_, conn| !socket::readable_now(conn.stream.as_fd()));
}

fn idle_connections(shared: &Shared) -> std::sync::MutexGuard<'_, HashMap<RawFd, Connection>> {
    shared.idle.lock().unwrap_or_else(|e| e.into_inner())
}

fn work_loop(shared: &Shared) {
    while !shared.draining.load(Ordering::Acquire) {
        let conn = match shared.poller.wait(WAKE) {
            Ok(Some(LISTENER)) => {
                if shared.draining.load(Ordering::Acquire) {
                    continue;
                }
                let accepted = socket::accept(shared.listener.as_fd());
                // Another thread may take the next queued connection meanwhile.
                let _ = shared.poller.watch(&shared.listener, LISTENER);
                match accepted {
                    Ok(Some(stream)) => {
                        // Set per connection: an accepted Unix socket does not inherit the
                        // listener's buffer sizes. send-buffer-size is data towards Apache.
                        let _ = socket::set_buffer_sizes(stream.as_fd(), shared.group.send_buffer_size, shared.group.receive_buffer_size);
                        Connection::new(stream, transport::body_window(shared.group.receive_buffer_size))
                    }
                    Ok(None) => continue,
                    Err(_) => return,
                }
            }
            Ok(Some(fd)) => match idle_connections(shared).remove(&(fd as RawFd)) {
                Some(conn) => conn,
                None => continue,
            },
            Ok(None) => continue,
            Err(_) => return,
        };
        if shared.busy.fetch_add(1, Ordering::AcqRel) + 1 >= shared.group.threads.max(1) as usize {
            // No thread left free: the next requests must not be sent here while another
            // process may have one. Closing the idle connections makes the Apache children
            // connect anew (the socket's queue is shared by all processes of the pool); a
            // request already in one of them was not read, and is sent again.
            idle_connections(shared).clear();
        }
        let kept = serve(shared, conn);
        shared.busy.fetch_sub(1, Ordering::AcqRel);
        if let Some(conn) = kept {
            park(shared, conn);
        }
    }
}

/// Keeps a connection for the Apache child's next request, unless the process is draining.
fn park(shared: &Shared, conn: Connection) {
    let fd = conn.stream.as_raw_fd();
    let mut idle = idle_connections(shared);
    // Checked under the lock stop_accepting clears the set with: nothing is parked after it.
    if shared.draining.load(Ordering::Acquire) {
        return;
    }
    let watched = shared.poller.watch(&conn.stream, fd as u64);
    if watched.is_ok() {
        idle.insert(fd, conn);
    }
}

/// Requests on one connection while the next one has already arrived; the connection back
/// when it can carry another request, None when it is done (closed, or left unusable).
fn serve(shared: &Shared, conn: Connection) -> Option<Connection> {
    let conn = Rc::new(RefCell::new(conn));
    loop {
        let frame = conn.borrow_mut().read_frame();
        let head = match frame {
            Ok(Some(Frame::RequestHead(head))) => head,
            Ok(None) => return None,
            Ok(Some(other)) => {
                log_line(LogLevel::Error, &format!("mod_wsgi: daemon '{}': unexpected {:?} frame from Apache", shared.name, other.kind()));
                return None;
            }
            Err(e) => {
                log_line(LogLevel::Error, &format!("mod_wsgi: daemon '{}': bad data from Apache: {e}", shared.name));
                return None;
            }
        };
        if !head.secret_matches(&shared.secret) {
            log_line(LogLevel::Error, &format!("mod_wsgi: daemon '{}': a connection without the pool's secret was refused", shared.name));
            return None;
        }
        // Tells the Apache child a process has its request (it gives up after connect-timeout
        // when no process of the pool is running to take it from the socket's queue).
        if conn.borrow_mut().send(&Frame::Pong).is_err() {
            return None;
        }
        shared.had_request.store(true, Ordering::Relaxed);
        let counts = !head.flags.ignore_activity;
        if counts {
            shared.last_activity_ms.store(now_ms(), Ordering::Relaxed);
        }
        if !handle(shared, &conn, head) || !conn.borrow_mut().finish_arrived_body() {
            return None;
        }
        let served = shared.served.fetch_add(1, Ordering::AcqRel) + 1;
        if shared.group.maximum_requests > 0 && served >= shared.group.maximum_requests {
            if !shared.draining.swap(true, Ordering::AcqRel) {
                tell_supervisor(shared, "leaving");
            }
            return None;
        }
        if !conn.borrow().has_buffered_input() {
            return Rc::try_unwrap(conn).ok().map(RefCell::into_inner);
        }
    }
}

fn reject(conn: &Rc<RefCell<Connection>>, why: RejectReason) -> bool {
    conn.borrow_mut().send(&Frame::Rejected(why)).is_ok()
}

/// One request; false when the connection cannot carry another.
fn handle(shared: &Shared, conn: &Rc<RefCell<Connection>>, head: RequestHead) -> bool {
    let accepted_us = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0);
    if shared.draining.load(Ordering::Acquire) {
        reject(conn, RejectReason::Restarting);
        return false;
    }
    let g = &shared.group;
    if g.queue_timeout > 0.0 && accepted_us.saturating_sub(head.queue_start_us) as f64 / 1e6 > g.queue_timeout {
        return reject(conn, RejectReason::QueueTimeout);
    }
    let env = &head.environ;
    let text = |k: &[u8]| env.get(k).map(|v| String::from_utf8_lossy(v).into_owned());
    let path = head.script().to_owned();
    let group = head.application_group().to_owned();
    let callable = text(b"mod_wsgi.callable_object").unwrap_or_else(|| "application".into());
    let remote = format!("[remote {}:{}] ", text(b"REMOTE_ADDR").unwrap_or_default(), text(b"REMOTE_PORT").unwrap_or_default());
    let Some(mtime) = file_mtime_us(&path) else {
        log_line(LogLevel::Error, &format!("{remote}Target WSGI script not found or unable to stat: {path}"));
        return end(conn, Outcome::Failed);
    };
    let interp = match interp::find_or_create(&group) {
        Ok(i) => i,
        Err(e) => {
            log_line(LogLevel::Error, &format!("{remote}{e}"));
            return end(conn, Outcome::Failed);
        }
    };
    // A changed script: this process stops taking work and asks for a fresh generation; the
    // request is retried by the Apache child, so no one gets stale code or an error.
    if head.flags.script_reloading && interp.scripts.loaded_mtime(&path).is_some_and(|m| m != mtime) {
        if !shared.draining.swap(true, Ordering::AcqRel) {
            log_line(LogLevel::Info, &format!("mod_wsgi: daemon process '{}' (pid {}): '{path}' changed; restarting the pool", shared.name, process::pid()));
            tell_supervisor(shared, "reload");
            stop_accepting(shared);
        }
        reject(conn, RejectReason::Restarting);
        return false;
    }
    let Some(glue) = interp.glue() else { return end(conn, Outcome::Failed) };
    let https = head.flags.https;
    let vars: Vec<(&[u8], &[u8])> = env.iter().collect();
    let context = python::interp_context(&group, Some(&shared.name));
    let app = AppRequest {
        script: &path,
        mtime,
        callable: &callable,
        // a changed script restarts the process (above), never reloads in place
        reloading: false,
        case_sensitive: shared.case_sensitive,
        context: &context,
        vars: &vars,
        https,
    };
    let site = InDaemon { shared, conn, head: &head, accepted_us, remote: &remote, interp, script: &path };
    let mut finish_later = None;
    let outcome = interp::with_admitted(interp, |py| {
        let transport = DaemonTransport::new(conn.clone(), head.flags.head_request, remote.clone(), log_line);
        match serve_app(py, interp, glue, &app, &site, Box::new(transport)) {
            Served::Ran(result, later) => {
                finish_later = later;
                match (result, shared.watch.end()) {
                    (RunOutcome::Sent, _) => None,
                    // Interrupted by request-timeout before answering: the client gets 504.
                    (RunOutcome::Failed, Some(a)) if a.interrupted.is_some() => {
                        if !a.answered {
                            watch::answer_timeout(a.conn);
                        }
                        Some(Outcome::Complete)
                    }
                    (RunOutcome::Failed, _) => Some(Outcome::Failed),
                }
            }
            Served::LoadFailed => {
                // startup-timeout: a script that keeps failing gets a fresh process.
                if g.startup_timeout > 0.0 && shared.watch.load_failed().as_secs_f64() >= g.startup_timeout && !shared.draining.swap(true, Ordering::AcqRel) {
                    tell_supervisor(shared, "leaving");
                    stop_accepting(shared);
                }
                Some(Outcome::Failed)
            }
            Served::NoCallable => Some(Outcome::NotFound),
            Served::Failed => Some(Outcome::Failed),
        }
    });
    if let Some(later) = finish_later {
        later.send();
    }
    match outcome {
        // The 504 above already ended the response; the interrupted request may have left
        // frames unread, so the connection ends with it.
        Some(Outcome::Complete) => false,
        Some(o) => end(conn, o),
        None => true,
    }
}

/// A daemon process's side of serving: lines go to its error log tagged with the client's
/// address, the environ gets the request's timing, and the request-timeout watch covers the run.
struct InDaemon<'a> {
    shared: &'a Shared,
    conn: &'a Rc<RefCell<Connection>>,
    head: &'a RequestHead,
    accepted_us: u64,
    remote: &'a str,
    interp: &'static Interpreter,
    script: &'a str,
}

impl Site for InDaemon<'_> {
    fn log(&self, level: LogLevel, msg: &str) {
        log_line(level, &format!("{}{msg}", self.remote));
    }

    fn log_for_server(&self, level: LogLevel, msg: &str) {
        log_line(level, msg);
    }

    fn add_environ(&self, py: Python<'_>, env: &Bound<'_, PyDict>) -> PyRes<()> {
        env.set_item("mod_wsgi.request_start", self.head.request_start_us as f64 / 1e6).or_raise(py)?;
        env.set_item("mod_wsgi.queue_start", self.head.queue_start_us as f64 / 1e6).or_raise(py)?;
        env.set_item("mod_wsgi.daemon_start", self.accepted_us as f64 / 1e6).or_raise(py)?;
        Ok(())
    }

    fn loaded(&self) {
        self.shared.watch.load_succeeded();
    }

    fn before_run(&self) {
        if let Some(m) = crate::metrics::table::mine() {
            let now_us = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0);
            let us = |from: u64, to: u64| Duration::from_micros(to.saturating_sub(from));
            m.daemon_times(us(self.head.queue_start_us, self.accepted_us), us(self.accepted_us, now_us));
        }
        self.shared.watch.begin(Active {
            started: Instant::now(),
            thread: watch::thread_id(),
            thread_index: gil::thread_index(),
            interp: self.interp,
            script: self.script.to_string(),
            conn: self.conn.borrow().stream.as_raw_fd(),
            interrupted: None,
            answered: false,
        });
    }
}

fn end(conn: &Rc<RefCell<Connection>>, outcome: Outcome) -> bool {
    conn.borrow_mut().send(&Frame::End(outcome)).is_ok()
}

