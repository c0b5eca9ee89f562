//! What a process and a thread have used: CPU time and memory (telemetry samples), and the
//! machine's name.

use nix::sys::resource::{UsageWho, getrusage};

fn micros(t: nix::sys::time::TimeVal) -> u64 {
    (t.tv_sec() as u64).saturating_mul(1_000_000).saturating_add(t.tv_usec() as u64)
}

/// (user, system) CPU µs of the whole process, all threads.
pub fn process_cpu_us() -> (u64, u64) {
    match getrusage(UsageWho::RUSAGE_SELF) {
        Ok(u) => (micros(u.user_time()), micros(u.system_time())),
        Err(_) => (0, 0),
    }
}

/// (user, system) CPU µs of the calling thread.
pub fn thread_cpu_us() -> (u64, u64) {
    match getrusage(UsageWho::RUSAGE_THREAD) {
        Ok(u) => (micros(u.user_time()), micros(u.system_time())),
        Err(_) => (0, 0),
    }
}

/// Peak resident set size in bytes (ru_maxrss is in KiB on Linux); 0 if unknown.
pub fn max_rss_bytes() -> u64 {
    getrusage(UsageWho::RUSAGE_SELF).map_or(0, |u| u.max_rss().max(0) as u64 * 1024)
}

/// Current resident set size in bytes: /proc/self/statm's second field, in pages; 0 if unknown.
pub fn rss_bytes() -> u64 {
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).ok().flatten().unwrap_or(4096) as u64;
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()))
        .map_or(0, |pages| pages * page)
}

/// This process's thread `tid`: whether it is running or waiting for a CPU (state R in
/// /proc), rather than sleeping on a lock or I/O; None if it cannot be read.
pub fn thread_is_runnable(tid: i32) -> Option<bool> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // "tid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ')'.
    let after_comm = &stat[stat.rfind(')')? + 1..];
    Some(after_comm.trim_start().starts_with('R'))
}

/// The calling thread's kernel id, asked of the kernel once per thread (it is on the path of
/// every request, through `python::admission`).
pub fn thread_id() -> i32 {
    thread_local! {
        static TID: std::cell::Cell<i32> = const { std::cell::Cell::new(0) };
    }
    TID.with(|tid| {
        if tid.get() == 0 {
            tid.set(nix::unistd::gettid().as_raw());
        }
        tid.get()
    })
}

/// gethostname(); empty if it fails.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is writable for its length; gethostname writes at most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_are_plausible() {
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_millis(30) {}
        let (thread_user, thread_system) = thread_cpu_us();
        assert!(thread_user + thread_system >= 10_000);
        let (user, system) = process_cpu_us();
        assert!(user + system >= thread_user + thread_system);
        assert!(rss_bytes() > 0 && max_rss_bytes() >= rss_bytes() / 2);
        assert!(!hostname().is_empty());
        // a thread reading its own state is running
        assert_eq!(thread_is_runnable(thread_id()), Some(true));
        assert_eq!(thread_id(), nix::unistd::gettid().as_raw());
    }

    #[test]
    fn a_sleeping_thread_is_not_runnable() {
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let sleeper = std::thread::spawn(move || {
            tx.send(thread_id()).unwrap();
            done_rx.recv().unwrap();
        });
        let tid = rx.recv().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(thread_is_runnable(tid), Some(false));
        done_tx.send(()).unwrap();
        sleeper.join().unwrap();
        assert_eq!(thread_is_runnable(-1), None);
    }
}
