//! Unix-domain sockets for daemon mode: the listener Apache's parent owns, non-blocking
//! accept with a stop pipe, and passing file descriptors (SCM_RIGHTS) so Apache can sendfile a
//! file the daemon opened.

use nix::sys::socket::{self as nsock, AddressFamily, Backlog, ControlMessage, MsgFlags, SockFlag, SockType, UnixAddr, sockopt};
use std::io::{self, IoSlice, Write};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// Creates a listening socket at `path`, `srwx------`, owned by `owner` when we are root.
pub fn listen(path: &Path, backlog: u32, owner: Option<(u32, u32)>) -> io::Result<OwnedFd> {
    let _ = std::fs::remove_file(path);
    let addr = UnixAddr::new(path)?;
    let fd = nsock::socket(AddressFamily::Unix, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)?;
    // The Apache parent is single-threaded here, so the umask is ours until it is restored.
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let bound = nsock::bind(fd.as_raw_fd(), &addr);
    nix::sys::stat::umask(old);
    bound?;
    if let Some((uid, gid)) = owner {
        if nix::unistd::geteuid().is_root() {
            nix::unistd::chown(path, Some(nix::unistd::Uid::from_raw(uid)), Some(nix::unistd::Gid::from_raw(gid)))?;
        }
    }
    nsock::listen(&fd, Backlog::new(backlog.min(i32::MAX as u32) as i32)?)?;
    Ok(fd)
}

pub fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
    let flags = if on { flags | OFlag::O_NONBLOCK } else { flags & !OFlag::O_NONBLOCK };
    fcntl(fd, FcntlArg::F_SETFL(flags))?;
    Ok(())
}

pub enum Ready {
    /// The first descriptor is readable.
    First,
    /// The second descriptor is readable (e.g. a stop pipe).
    Second,
    Timeout,
}

/// Waits until one of two descriptors is readable.
pub fn poll2(first: BorrowedFd<'_>, second: Option<BorrowedFd<'_>>, timeout: Option<Duration>) -> io::Result<Ready> {
    use nix::poll::{PollFd, PollFlags, PollTimeout};
    let mut fds = vec![PollFd::new(first, PollFlags::POLLIN)];
    fds.extend(second.map(|fd| PollFd::new(fd, PollFlags::POLLIN)));
    let timeout = match timeout {
        Some(t) => PollTimeout::try_from(t).unwrap_or(PollTimeout::MAX),
        None => PollTimeout::NONE,
    };
    match nix::poll::poll(&mut fds, timeout) {
        Ok(_) => {}
        Err(nix::errno::Errno::EINTR) => return Ok(Ready::Timeout),
        Err(e) => return Err(e.into()),
    }
    let ready = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
    Ok(if fds.get(1).is_some_and(ready) {
        Ready::Second
    } else if ready(&fds[0]) {
        Ready::First
    } else {
        Ready::Timeout
    })
}

/// Writes `data` onto a connection whose descriptor another thread owns, then ends both
/// directions: later writes on either side fail, and the peer reads end-of-stream after
/// what was sent. Only the descriptor's number is used; nothing is closed.
pub fn answer_and_shut(fd: RawFd, data: &[u8]) {
    let mut rest = data;
    while !rest.is_empty() {
        match nsock::send(fd, rest, MsgFlags::MSG_NOSIGNAL) {
            Ok(0) => break,
            Ok(n) => rest = &rest[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => break,
        }
    }
    let _ = nsock::shutdown(fd, nsock::Shutdown::Both);
}

/// Whether `fd` has input (or was closed by its peer) right now.
pub fn readable_now(fd: BorrowedFd<'_>) -> bool {
    matches!(poll2(fd, None, Some(Duration::ZERO)), Ok(Ready::First))
}

/// Accepts one connection; None when none is queued (the listener is non-blocking: another
/// process may have taken it first) or on a signal.
pub fn accept(listener: BorrowedFd<'_>) -> io::Result<Option<UnixStream>> {
    use nix::errno::Errno;
    match nsock::accept4(listener, SockFlag::SOCK_CLOEXEC) {
        Ok(fd) => Ok(Some(UnixStream::from(fd))),
        Err(Errno::EAGAIN | Errno::EINTR | Errno::ECONNABORTED) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A pipe (read end, write end), both close-on-exec.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?)
}

/// Room for the ancillary data of up to four descriptors, aligned for cmsghdr (no allocation
/// per read on the proxying hot path).
#[derive(Default)]
struct ControlBuffer([u64; 8]);

/// A msghdr over one buffer and `control`.
fn message(iov: &mut libc::iovec, control: &mut ControlBuffer, space: usize) -> libc::msghdr {
    debug_assert!(space <= std::mem::size_of::<ControlBuffer>());
    // SAFETY: msghdr is a plain C struct for which all-zero is a valid value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr() as *mut libc::c_void;
    msg.msg_controllen = space;
    msg
}

/// Writes all of `data`, passing the descriptor `fd` along with the first byte (the
/// receiver gets its own copy; ours stays open).
pub fn send_with_fd(stream: &UnixStream, data: &[u8], fd: RawFd) -> io::Result<()> {
    let fds = [fd];
    let sent = nsock::sendmsg::<()>(stream.as_raw_fd(), &[io::IoSlice::new(data)], &[ControlMessage::ScmRights(&fds)], MsgFlags::MSG_NOSIGNAL, None)?;
    if sent < data.len() {
        use std::io::Write;
        (&*stream).write_all(&data[sent..])?;
    }
    Ok(())
}

/// Reads into `buf`; descriptors passed with the data are returned too.
pub fn recv_with_fds(stream: &UnixStream, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> io::Result<usize> {
    // SAFETY: an initialised byte slice viewed as possibly-uninitialised bytes; recvmsg only writes bytes.
    let uninit = unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr() as *mut std::mem::MaybeUninit<u8>, buf.len()) };
    recv_uninit_with_fds(stream, uninit, fds)
}

/// Like [`recv_with_fds`], into memory not initialised yet (the first `n` bytes are after).
/// libc, not nix: nix receives only into initialised memory, and this reads response bodies
/// straight into Apache's bucket memory.
pub fn recv_uninit_with_fds(stream: &UnixStream, buf: &mut [std::mem::MaybeUninit<u8>], fds: &mut Vec<OwnedFd>) -> io::Result<usize> {
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr() as *mut libc::c_void, iov_len: buf.len() };
    // SAFETY: as in send_with_fd; received descriptors are taken into OwnedFds exactly once.
    unsafe {
        let space = libc::CMSG_SPACE((4 * std::mem::size_of::<RawFd>()) as u32) as usize;
        let mut control = ControlBuffer::default();
        let mut msg = message(&mut iov, &mut control, space);
        let n = libc::recvmsg(stream.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC);
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(cmsg) as *const RawFd;
                let count = ((*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / std::mem::size_of::<RawFd>();
                for i in 0..count {
                    fds.push(OwnedFd::from_raw_fd(std::ptr::read_unaligned(data.add(i))));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
        Ok(n as usize)
    }
}

/// Random bytes from the kernel (for the secret shared by Apache and its daemons).
pub fn random_bytes(out: &mut [u8]) -> io::Result<()> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")?.read_exact(out)
}

/// Writes every slice, resuming after partial writes (std's write_all_vectored is unstable).
pub fn write_all_vectored(mut w: impl Write, mut slices: &mut [IoSlice<'_>]) -> io::Result<()> {
    IoSlice::advance_slices(&mut slices, 0);
    while !slices.is_empty() {
        match w.write_vectored(slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// SO_SNDBUF / SO_RCVBUF (0 = leave the system default).
pub fn set_buffer_sizes(fd: BorrowedFd<'_>, send: u32, receive: u32) -> io::Result<()> {
    if send > 0 {
        nsock::setsockopt(&fd, sockopt::SndBuf, &(send as usize))?;
    }
    if receive > 0 {
        nsock::setsockopt(&fd, sockopt::RcvBuf, &(receive as usize))?;
    }
    Ok(())
}

/// A datagram socket that only sends, never waiting: for telemetry, where a receiver that
/// is slow, gone or never started must cost the sender nothing.
pub struct DatagramOut {
    socket: std::os::unix::net::UnixDatagram,
    to: std::path::PathBuf,
}

impl DatagramOut {
    /// An unbound socket for datagrams to `path`; SO_SNDBUF 64 KiB as mod_wsgi sets it.
    pub fn open(path: &Path) -> io::Result<DatagramOut> {
        // sun_path holds 108 bytes with the terminating NUL.
        if path.as_os_str().len() >= 108 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "socket path is 108 bytes or longer"));
        }
        let socket = std::os::unix::net::UnixDatagram::unbound()?;
        socket.set_nonblocking(true)?;
        let _ = set_buffer_sizes(std::os::fd::AsFd::as_fd(&socket), 65536, 0);
        Ok(DatagramOut { socket, to: path.to_path_buf() })
    }

    /// Sends one datagram or drops it (no receiver, a full queue, no permission).
    pub fn send(&self, datagram: &[u8]) -> bool {
        self.socket.send_to(datagram, &self.to).is_ok()
    }
}
