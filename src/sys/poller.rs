//! epoll for a daemon process's threads: the pool's listening socket and the idle connections
//! Apache children keep open between requests. Every watch is one-shot, so each readiness is
//! reported to exactly one waiting thread, which re-arms the descriptor when it is done.

use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use std::io;
use std::os::fd::AsFd;
use std::time::Duration;

pub struct Poller {
    epoll: Epoll,
}

impl Poller {
    pub fn new() -> io::Result<Poller> {
        Ok(Poller { epoll: Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)? })
    }

    /// Reports `fd` (as `token`) to one waiting thread when it has input or was closed; after
    /// that it is not reported again until it is watched again.
    pub fn watch(&self, fd: impl AsFd, token: u64) -> io::Result<()> {
        let flags = EpollFlags::EPOLLIN | EpollFlags::EPOLLRDHUP | EpollFlags::EPOLLONESHOT;
        let mut event = EpollEvent::new(flags, token);
        match self.epoll.modify(&fd, &mut event) {
            Err(Errno::ENOENT) => Ok(self.epoll.add(&fd, event)?),
            other => Ok(other?),
        }
    }

    /// The token of one ready descriptor; None when `timeout` passed (or a signal came) first.
    pub fn wait(&self, timeout: Duration) -> io::Result<Option<u64>> {
        let mut events = [EpollEvent::empty()];
        let timeout = EpollTimeout::try_from(timeout).unwrap_or(EpollTimeout::MAX);
        match self.epoll.wait(&mut events, timeout) {
            Ok(1) => Ok(Some(events[0].data())),
            Ok(_) | Err(Errno::EINTR) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
