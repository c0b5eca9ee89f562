//! Processes: fork, wait, signals, privileges, resource limits, the process title.
//!
//! Through nix where it has a safe call (wait, kill, users and groups, credentials, limits,
//! prctl, signal masks); libc only where nix has none (fork, sigtimedwait, setpriority,
//! setlocale, malloc_trim) or the call is unsafe there too (signal dispositions).

use super::check;
use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Gid, Group, Uid, User};
use std::ffi::CString;
use std::io;

pub type Pid = libc::pid_t;

pub enum Forked {
    Child,
    Parent(Pid),
}

/// fork(). The child must only call async-signal-safe code until it execs or sets itself
/// up from scratch; our children set up their own state and never return into the caller's
/// loops (they end with `exit_now`).
pub fn fork() -> io::Result<Forked> {
    // SAFETY: fork has no memory-safety preconditions; callers handle both sides.
    match check(unsafe { libc::fork() })? {
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid)),
    }
}

/// Ends the process without running atexit handlers or Apache's cleanups (which belong to
/// the process we were forked from).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit has no preconditions (nix does not wrap it).
    unsafe { libc::_exit(code) }
}

pub fn pid() -> Pid {
    nix::unistd::getpid().as_raw()
}

pub enum Exit {
    Code(i32),
    Signal(i32),
}

fn exited(status: WaitStatus) -> Option<(Pid, Exit)> {
    match status {
        WaitStatus::Exited(pid, code) => Some((pid.as_raw(), Exit::Code(code))),
        WaitStatus::Signaled(pid, sig, _) => Some((pid.as_raw(), Exit::Signal(sig as i32))),
        _ => None,
    }
}

/// Reaps one exited child without blocking.
pub fn reap_any() -> Option<(Pid, Exit)> {
    exited(waitpid(None, Some(WaitPidFlag::WNOHANG)).ok()?)
}

/// Reaps `pid` if it has exited.
pub fn reap(pid: Pid) -> Option<Exit> {
    exited(waitpid(nix::unistd::Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)).ok()?).map(|(_, exit)| exit)
}

/// Sends `sig` (0: none, to test that the process exists) to `pid`.
pub fn signal(pid: Pid, sig: i32) -> bool {
    let sig = match sig {
        0 => None,
        s => match Signal::try_from(s) {
            Ok(s) => Some(s),
            Err(_) => return false,
        },
    };
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig).is_ok()
}

pub fn alive(pid: Pid) -> bool {
    signal(pid, 0)
}

/// Looks up a user: (uid, primary gid, home). Thread-safe (getpwnam_r).
pub fn user_by_name(name: &str) -> Option<(u32, u32, String)> {
    let u = User::from_name(name).ok()??;
    Some((u.uid.as_raw(), u.gid.as_raw(), u.dir.to_string_lossy().into_owned()))
}

/// (name, primary gid, home) of a uid.
pub fn user_by_id(uid: u32) -> Option<(String, u32, String)> {
    let u = User::from_uid(Uid::from_raw(uid)).ok()??;
    Some((u.name, u.gid.as_raw(), u.dir.to_string_lossy().into_owned()))
}

pub fn group_by_name(name: &str) -> Option<u32> {
    Some(Group::from_name(name).ok()??.gid.as_raw())
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Drops privileges for good: supplementary groups, gid, then uid.
pub fn become_user(uid: u32, gid: u32, user_name: &str, extra_groups: &[u32]) -> io::Result<()> {
    if !is_root() {
        return Ok(());
    }
    let cname = CString::new(user_name).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // glibc's wrappers change the credentials of every thread (a raw syscall would not);
    // groups before the uid, which can no longer change them.
    let gid = Gid::from_raw(gid);
    nix::unistd::setgid(gid)?;
    if extra_groups.is_empty() {
        nix::unistd::initgroups(&cname, gid)?;
    } else {
        let groups: Vec<Gid> = std::iter::once(gid).chain(extra_groups.iter().map(|&g| Gid::from_raw(g))).collect();
        nix::unistd::setgroups(&groups)?;
    }
    nix::unistd::setuid(Uid::from_raw(uid))?;
    Ok(())
}

pub fn set_umask(mask: u32) {
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask as libc::mode_t));
}

pub fn set_priority(nice: i32) -> io::Result<()> {
    // SAFETY: setpriority on our own process.
    check(unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) }).map(drop)
}

pub enum Limit {
    Cpu,
    Data,
    AddressSpace,
}

pub fn set_limit(which: Limit, soft: u64, hard: u64) -> io::Result<()> {
    use nix::sys::resource::Resource;
    let resource = match which {
        Limit::Cpu => Resource::RLIMIT_CPU,
        Limit::Data => Resource::RLIMIT_DATA,
        Limit::AddressSpace => Resource::RLIMIT_AS,
    };
    Ok(nix::sys::resource::setrlimit(resource, soft, hard)?)
}

/// Sets the name shown by `ps -o comm` and top (at most 15 bytes).
pub fn set_thread_name(name: &str) {
    let short: String = name.chars().take(15).collect();
    if let Ok(c) = CString::new(short) {
        let _ = nix::sys::prctl::set_name(&c);
    }
}

/// Overwrites the process's argv area (what `ps` shows), truncated to its length.
///
/// # Safety
/// `argv0` must point at the process's original argv[0] string, whose `len` bytes (the
/// contiguous argv area) are writable and no longer needed by anyone.
pub unsafe fn set_process_title(argv0: *mut u8, len: usize, title: &str) {
    if argv0.is_null() || len == 0 {
        return;
    }
    let bytes = title.as_bytes();
    let n = bytes.len().min(len - 1);
    // SAFETY: per the contract the area is `len` writable bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), argv0, n);
        std::ptr::write_bytes(argv0.add(n), 0, len - n);
    }
}

fn signal_set(signals: &[i32]) -> SigSet {
    let mut set = SigSet::empty();
    for s in signals.iter().filter_map(|&s| Signal::try_from(s).ok()) {
        set.add(s);
    }
    set
}

/// Blocks `signals` in this thread (and threads it starts later).
pub fn block_signals(signals: &[i32]) {
    let _ = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&signal_set(signals)), None);
}

/// Waits for one of `signals` (which must be blocked) for at most `timeout`.
pub fn wait_signal(signals: &[i32], timeout: std::time::Duration) -> Option<i32> {
    let set = signal_set(signals);
    let ts = libc::timespec { tv_sec: timeout.as_secs() as libc::time_t, tv_nsec: timeout.subsec_nanos() as libc::c_long };
    // SAFETY: sigtimedwait (which nix lacks) reads a valid set and timespec and writes no siginfo (NULL).
    let sig = unsafe { libc::sigtimedwait(set.as_ref(), std::ptr::null_mut(), &ts) };
    (sig > 0).then_some(sig)
}

/// Restores default dispositions for signals Apache installed handlers for, so a forked
/// process is not driven by the parent's handlers.
pub fn reset_signal_handlers(signals: &[i32]) {
    for s in signals.iter().filter_map(|&s| Signal::try_from(s).ok()) {
        // SAFETY: SIG_DFL installs no handler, so no handler can run unsafely.
        let _ = unsafe { nix::sys::signal::signal(s, SigHandler::SigDfl) };
    }
    // unblocks everything the parent may have blocked
    let _ = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
}

pub fn set_env(key: &str, value: &str) {
    // SAFETY: called while the process is single-threaded (daemon setup, before threads).
    unsafe { std::env::set_var(key, value) };
}

/// setlocale(LC_ALL, "") after LANG/LC_ALL were set; false if the locale is not installed.
pub fn apply_locale() -> bool {
    // SAFETY: single-threaded setup; "" means from the environment.
    unsafe { !libc::setlocale(libc::LC_ALL, c"".as_ptr()).is_null() }
}

pub fn ignore_sigpipe() {
    // SAFETY: SIG_IGN installs no handler, so no handler can run unsafely.
    let _ = unsafe { nix::sys::signal::signal(Signal::SIGPIPE, SigHandler::SigIgn) };
}

/// Returns every free page of the malloc heap to the kernel, including those below live
/// allocations (glibc trims only the top of the heap by itself).
pub fn release_free_heap() {
    // SAFETY: malloc_trim works on glibc's own arenas under their locks; no pointer is passed.
    unsafe { libc::malloc_trim(0) };
}

/// This thread's pthread id, which is also Python's `threading.get_ident()`.
pub fn thread_id() -> u64 {
    nix::sys::pthread::pthread_self() as u64
}

/// Asks the kernel to send `sig` to this process when its parent exits (and sends it now if
/// the parent is already gone), so daemons never outlive the Apache that started them.
/// Must be called again after a change of credentials, which clears it.
pub fn die_with_parent(sig: i32, expected_parent: Pid) {
    let Ok(sig) = Signal::try_from(sig) else { return };
    let _ = nix::sys::prctl::set_pdeathsig(sig);
    if parent_pid() != expected_parent {
        let _ = nix::sys::signal::kill(nix::unistd::getpid(), sig);
    }
}

pub fn parent_pid() -> Pid {
    nix::unistd::getppid().as_raw()
}

/// The fields of /proc/PID/stat after the command name, which is in parentheses and may hold
/// spaces and parentheses itself (so they count from the last ')': index 0 is field 3, state).
/// World-readable, so a process of another user is read too; None once it has gone.
fn stat_fields(pid: Pid) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(stat.rsplit_once(')')?.1.split_whitespace().map(str::to_string).collect())
}

/// (CPU seconds, resident bytes) of a live process.
pub fn cpu_and_rss(pid: Pid) -> Option<(f64, u64)> {
    use nix::unistd::{SysconfVar, sysconf};
    let fields = stat_fields(pid)?;
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    let ticks = sysconf(SysconfVar::CLK_TCK).ok().flatten().filter(|&t| t > 0)? as f64;
    let page = sysconf(SysconfVar::PAGE_SIZE).ok().flatten().filter(|&p| p > 0)? as u64;
    Some(((field(14)? + field(15)?) as f64 / ticks, field(24)? * page))
}

/// The parent of another process (None if it is gone or unreadable).
pub fn parent_of(pid: Pid) -> Option<Pid> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// The process exists (a zombie or another user's process counts).
pub fn exists(pid: Pid) -> bool {
    pid > 0 && std::path::Path::new(&format!("/proc/{pid}")).exists()
}
