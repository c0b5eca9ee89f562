//! Unix-domain sockets for daemon mode: the listener Apache's parent owns, non-blocking
//! accept with a stop pipe, and passing file descriptors (SCM_RIGHTS) so Apache can sendfile a
//! file the daemon opened.

use super::check;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// Creates a listening socket at `path`, `srwx------`, owned by `owner` when we are root.
pub fn listen(path: &Path, backlog: u32, owner: Option<(u32, u32)>) -> io::Result<OwnedFd> {
    let _ = std::fs::remove_file(path);
    let cpath = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // SAFETY: socket/bind/listen on a fresh descriptor with a correctly sized sockaddr_un; umask is restored right after bind (the Apache parent is single-threaded here).
    unsafe {
        let fd = OwnedFd::from_raw_fd(check(libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0))?);
        let mut addr: libc::sockaddr_un = std::mem::zeroed();
        addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        let bytes = cpath.as_bytes_with_nul();
        if bytes.len() > addr.sun_path.len() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("socket path too long: {}", path.display())));
        }
        for (dst, src) in addr.sun_path.iter_mut().zip(bytes) {
            *dst = *src as libc::c_char;
        }
        let old = libc::umask(0o077);
        let bound = libc::bind(fd.as_raw_fd(), &addr as *const _ as *const libc::sockaddr, std::mem::size_of::<libc::sockaddr_un>() as u32);
        libc::umask(old);
        check(bound)?;
        if let Some((uid, gid)) = owner {
            if libc::geteuid() == 0 {
                check(libc::chown(cpath.as_ptr(), uid, gid))?;
            }
        }
        check(libc::listen(fd.as_raw_fd(), backlog as libc::c_int))?;
        Ok(fd)
    }
}

pub fn set_nonblocking(fd: RawFd, on: bool) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = check(libc::fcntl(fd, libc::F_GETFL))?;
        let flags = if on { flags | libc::O_NONBLOCK } else { flags & !libc::O_NONBLOCK };
        check(libc::fcntl(fd, libc::F_SETFL, flags)).map(drop)
    }
}

/// Keeps `fd` open across exec? No: marks it close-on-exec or not.
pub fn set_cloexec(fd: RawFd, on: bool) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = check(libc::fcntl(fd, libc::F_GETFD))?;
        let flags = if on { flags | libc::FD_CLOEXEC } else { flags & !libc::FD_CLOEXEC };
        check(libc::fcntl(fd, libc::F_SETFD, flags)).map(drop)
    }
}

pub enum Ready {
    /// The first descriptor is readable.
    First,
    /// The second descriptor is readable (e.g. a stop pipe).
    Second,
    Timeout,
}

/// Waits until one of two descriptors is readable.
pub fn poll2(first: RawFd, second: RawFd, timeout: Option<Duration>) -> io::Result<Ready> {
    let mut fds = [
        libc::pollfd { fd: first, events: libc::POLLIN, revents: 0 },
        libc::pollfd { fd: second, events: libc::POLLIN, revents: 0 },
    ];
    let ms = timeout.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as i32);
    // SAFETY: poll on a valid array of two pollfd structs.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted { Ok(Ready::Timeout) } else { Err(e) };
    }
    Ok(if fds[1].revents != 0 {
        Ready::Second
    } else if fds[0].revents != 0 {
        Ready::First
    } else {
        Ready::Timeout
    })
}

/// Ends both directions of a connection whose descriptor someone else owns: later writes on
/// either side fail, and the peer reads end-of-stream after what was already sent.
pub fn shutdown(fd: RawFd) {
    // SAFETY: shutdown only changes the state of the socket behind a descriptor the caller keeps open.
    unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
}

/// Whether `fd` has input (or was closed by its peer) right now.
pub fn readable_now(fd: RawFd) -> bool {
    matches!(poll2(fd, -1, Some(Duration::ZERO)), Ok(Ready::First))
}

/// Accepts one connection; None when none is queued (the listener is non-blocking: another
/// process may have taken it first) or on a signal.
pub fn accept(listener: RawFd) -> io::Result<Option<UnixStream>> {
    // SAFETY: accept4 on a listening socket; the new descriptor is owned by the UnixStream.
    let fd = unsafe { libc::accept4(listener, std::ptr::null_mut(), std::ptr::null_mut(), libc::SOCK_CLOEXEC) };
    if fd < 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::EAGAIN) | Some(libc::EINTR) | Some(libc::ECONNABORTED) => Ok(None),
            _ => Err(e),
        };
    }
    // SAFETY: fd is a fresh, owned, connected socket.
    Ok(Some(unsafe { UnixStream::from_raw_fd(fd) }))
}

/// A pipe (read end, write end), both close-on-exec.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors we then own.
    unsafe {
        check(libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC))?;
        Ok((OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])))
    }
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

/// Writes all of `data`, passing `fd` along with the first byte.
pub fn send_with_fd(stream: &UnixStream, data: &[u8], fd: RawFd) -> io::Result<()> {
    let mut iov = libc::iovec { iov_base: data.as_ptr() as *mut libc::c_void, iov_len: data.len() };
    // SAFETY: CMSG_SPACE sizes the control buffer for one int; msghdr points at live buffers.
    let sent = unsafe {
        let space = libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) as usize;
        let mut control = ControlBuffer::default();
        let msg = message(&mut iov, &mut control, space);
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg) as *mut RawFd, fd);
        libc::sendmsg(stream.as_raw_fd(), &msg, libc::MSG_NOSIGNAL)
    };
    let sent = usize::try_from(sent).map_err(|_| io::Error::last_os_error())?;
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

/// Takes ownership of a raw descriptor the caller owns (to close it by dropping).
pub fn owned(fd: RawFd) -> OwnedFd {
    // SAFETY: callers pass a descriptor they own and do not use afterwards.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// A File over a descriptor the caller keeps owning (wrap in ManuallyDrop to not close it).
pub fn file_of(fd: RawFd) -> std::fs::File {
    // SAFETY: callers wrap the File in ManuallyDrop, so the descriptor is not closed twice.
    unsafe { std::fs::File::from_raw_fd(fd) }
}

/// SO_SNDBUF / SO_RCVBUF (0 = leave the system default).
pub fn set_buffer_sizes(fd: RawFd, send: u32, receive: u32) -> io::Result<()> {
    for (option, size) in [(libc::SO_SNDBUF, send), (libc::SO_RCVBUF, receive)] {
        if size == 0 {
            continue;
        }
        let value = size as libc::c_int;
        // SAFETY: setsockopt reads one int from a valid pointer.
        check(unsafe {
            libc::setsockopt(fd, libc::SOL_SOCKET, option, &value as *const _ as *const libc::c_void, std::mem::size_of::<libc::c_int>() as u32)
        })?;
    }
    Ok(())
}
