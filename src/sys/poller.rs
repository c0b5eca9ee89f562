//! epoll for a daemon process's threads: the pool's listening socket and the idle connections
//! Apache children keep open between requests. Every watch is one-shot, so each readiness is
//! reported to exactly one waiting thread, which re-arms the descriptor when it is done.

use super::check;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

pub struct Poller {
    epoll: OwnedFd,
}

impl Poller {
    pub fn new() -> io::Result<Poller> {
        // SAFETY: epoll_create1 returns a fresh descriptor that the OwnedFd then owns.
        let fd = check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: fd was just created and is owned by nobody else.
        Ok(Poller { epoll: unsafe { OwnedFd::from_raw_fd(fd) } })
    }

    /// Reports `fd` (as `token`) to one waiting thread when it has input or was closed; after
    /// that it is not reported again until it is watched again.
    pub fn watch(&self, fd: RawFd, token: u64) -> io::Result<()> {
        match self.control(libc::EPOLL_CTL_MOD, fd, token) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => self.control(libc::EPOLL_CTL_ADD, fd, token),
            other => other,
        }
    }

    fn control(&self, op: libc::c_int, fd: RawFd, token: u64) -> io::Result<()> {
        let mut event = libc::epoll_event { events: (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLONESHOT) as u32, u64: token };
        // SAFETY: epoll_ctl reads one epoll_event from a valid pointer; fd is the caller's open descriptor.
        check(unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut event) }).map(drop)
    }

    /// The token of one ready descriptor; None when `timeout` passed (or a signal came) first.
    pub fn wait(&self, timeout: Duration) -> io::Result<Option<u64>> {
        let mut event = libc::epoll_event { events: 0, u64: 0 };
        let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
        // SAFETY: epoll_wait writes at most one epoll_event into `event`.
        let n = unsafe { libc::epoll_wait(self.epoll.as_raw_fd(), &mut event, 1, ms) };
        match n {
            1 => Ok(Some(event.u64)),
            0 => Ok(None),
            _ => {
                let e = io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::EINTR) { Ok(None) } else { Err(e) }
            }
        }
    }
}
