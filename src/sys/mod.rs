//! Thin, safe wrappers over the libc calls daemon mode needs (processes, privileges, limits,
//! Unix sockets with descriptor passing, epoll). The only unsafe code outside `apache/` and `python/`.

pub mod poller;
pub mod process;
pub mod shm;
pub mod socket;
pub mod usage;

use std::io;

/// Turns a libc return value into an io::Result (-1 means errno).
fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 { Err(io::Error::last_os_error()) } else { Ok(ret) }
}
