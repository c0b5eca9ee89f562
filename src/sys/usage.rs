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
    }
}
