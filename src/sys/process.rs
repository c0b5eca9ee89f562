//! Processes: fork, wait, signals, privileges, resource limits, the process title.

use super::check;
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
    // SAFETY: _exit is always safe to call.
    unsafe { libc::_exit(code) }
}

pub fn pid() -> Pid {
    // SAFETY: getpid cannot fail.
    unsafe { libc::getpid() }
}

pub enum Exit {
    Code(i32),
    Signal(i32),
}

/// Reaps one exited child without blocking.
pub fn reap_any() -> Option<(Pid, Exit)> {
    let mut status = 0;
    // SAFETY: waitpid writes the status into a valid int.
    let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
    if pid <= 0 {
        return None;
    }
    let exit = if libc::WIFSIGNALED(status) { Exit::Signal(libc::WTERMSIG(status)) } else { Exit::Code(libc::WEXITSTATUS(status)) };
    Some((pid, exit))
}

/// Reaps `pid` if it has exited.
pub fn reap(pid: Pid) -> Option<Exit> {
    let mut status = 0;
    // SAFETY: as above.
    let got = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    (got == pid).then(|| if libc::WIFSIGNALED(status) { Exit::Signal(libc::WTERMSIG(status)) } else { Exit::Code(libc::WEXITSTATUS(status)) })
}

pub fn signal(pid: Pid, sig: i32) -> bool {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(pid, sig) == 0 }
}

pub fn alive(pid: Pid) -> bool {
    signal(pid, 0)
}

/// Looks up a user: (uid, primary gid, home).
pub fn user_by_name(name: &str) -> Option<(u32, u32, String)> {
    let cname = CString::new(name).ok()?;
    // SAFETY: getpwnam returns a pointer into static storage or NULL; we copy out at once and only call it during single-threaded setup.
    unsafe {
        let pw = libc::getpwnam(cname.as_ptr());
        if pw.is_null() {
            return None;
        }
        let home = std::ffi::CStr::from_ptr((*pw).pw_dir).to_string_lossy().into_owned();
        Some(((*pw).pw_uid, (*pw).pw_gid, home))
    }
}

pub fn user_by_id(uid: u32) -> Option<(String, u32, String)> {
    // SAFETY: as in user_by_name.
    unsafe {
        let pw = libc::getpwuid(uid);
        if pw.is_null() {
            return None;
        }
        let name = std::ffi::CStr::from_ptr((*pw).pw_name).to_string_lossy().into_owned();
        let home = std::ffi::CStr::from_ptr((*pw).pw_dir).to_string_lossy().into_owned();
        Some((name, (*pw).pw_gid, home))
    }
}

pub fn group_by_name(name: &str) -> Option<u32> {
    let cname = CString::new(name).ok()?;
    // SAFETY: as in user_by_name.
    unsafe {
        let gr = libc::getgrnam(cname.as_ptr());
        (!gr.is_null()).then(|| (*gr).gr_gid)
    }
}

pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Drops privileges for good: supplementary groups, gid, then uid.
pub fn become_user(uid: u32, gid: u32, user_name: &str, extra_groups: &[u32]) -> io::Result<()> {
    if !is_root() {
        return Ok(());
    }
    let cname = CString::new(user_name).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // SAFETY: plain syscalls with valid arguments; order matters (groups before uid).
    unsafe {
        check(libc::setgid(gid))?;
        if extra_groups.is_empty() {
            check(libc::initgroups(cname.as_ptr(), gid))?;
        } else {
            let mut groups = vec![gid];
            groups.extend_from_slice(extra_groups);
            check(libc::setgroups(groups.len(), groups.as_ptr()))?;
        }
        check(libc::setuid(uid))?;
    }
    Ok(())
}

pub fn set_umask(mask: u32) {
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(mask as libc::mode_t) };
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
    let resource = match which {
        Limit::Cpu => libc::RLIMIT_CPU,
        Limit::Data => libc::RLIMIT_DATA,
        Limit::AddressSpace => libc::RLIMIT_AS,
    };
    let limit = libc::rlimit { rlim_cur: soft, rlim_max: hard };
    // SAFETY: setrlimit reads a valid struct.
    check(unsafe { libc::setrlimit(resource, &limit) }).map(drop)
}

/// Sets the name shown by `ps -o comm` and top (at most 15 bytes).
pub fn set_thread_name(name: &str) {
    let short: String = name.chars().take(15).collect();
    if let Ok(c) = CString::new(short) {
        // SAFETY: PR_SET_NAME copies a NUL-terminated string.
        unsafe { libc::prctl(libc::PR_SET_NAME, c.as_ptr() as libc::c_ulong, 0, 0, 0) };
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

/// Blocks `signals` in this thread (and threads it starts later).
pub fn block_signals(signals: &[i32]) {
    // SAFETY: builds a sigset on the stack and applies it to the calling thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// Waits for one of `signals` (which must be blocked) for at most `timeout`.
pub fn wait_signal(signals: &[i32], timeout: std::time::Duration) -> Option<i32> {
    // SAFETY: sigtimedwait with a valid set and timespec.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        let ts = libc::timespec { tv_sec: timeout.as_secs() as libc::time_t, tv_nsec: timeout.subsec_nanos() as libc::c_long };
        let sig = libc::sigtimedwait(&set, std::ptr::null_mut(), &ts);
        (sig > 0).then_some(sig)
    }
}

/// Restores default dispositions for signals Apache installed handlers for, so a forked
/// process is not driven by the parent's handlers.
pub fn reset_signal_handlers(signals: &[i32]) {
    for &s in signals {
        // SAFETY: resetting a disposition to SIG_DFL is always valid.
        unsafe { libc::signal(s, libc::SIG_DFL) };
    }
    // SAFETY: unblocks everything the parent may have blocked.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
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
    // SAFETY: setting SIGPIPE to SIG_IGN is always valid.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

/// Returns every free page of the malloc heap to the kernel, including those below live
/// allocations (glibc trims only the top of the heap by itself).
pub fn release_free_heap() {
    // SAFETY: malloc_trim works on glibc's own arenas under their locks; no pointer is passed.
    unsafe { libc::malloc_trim(0) };
}

/// This thread's pthread id, which is also Python's `threading.get_ident()`.
pub fn thread_id() -> u64 {
    // SAFETY: pthread_self cannot fail.
    (unsafe { libc::pthread_self() }) as u64
}

/// Asks the kernel to send `sig` to this process when its parent exits (and sends it now if
/// the parent is already gone), so daemons never outlive the Apache that started them.
/// Must be called again after a change of credentials, which clears it.
pub fn die_with_parent(sig: i32, expected_parent: Pid) {
    // SAFETY: prctl(PR_SET_PDEATHSIG) and getppid have no memory-safety preconditions.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0);
        if libc::getppid() != expected_parent {
            libc::kill(libc::getpid(), sig);
        }
    }
}

pub fn parent_pid() -> Pid {
    // SAFETY: getppid cannot fail.
    unsafe { libc::getppid() }
}
