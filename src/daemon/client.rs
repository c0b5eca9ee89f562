//! The Apache child's side of daemon mode: send the request to the pool's socket, feed the
//! daemon the request body as its application reads it, and relay the response through
//! Apache's output filters (the same transport embedded mode uses).

use super::keepalive;
use super::pools::Target;
use super::relay::{Relay, RelayState, Sink, Step};
use super::wire::{self, BodyFailure, Decoder, Frame, Limits, Pairs, Piece, RequestFlags, RequestHead};
use crate::apache::bucket::BucketBuffer;
use crate::apache::log::Level;
use crate::apache::request::ApacheTransport;
use crate::apache::{Request, Status};
use crate::host::python;
use crate::sys::socket;
use crate::wsgi::latin1;
use crate::wsgi::transport::{ClientGone, LogLevel, Transport};
use std::io::{ErrorKind, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What the child computed for the request (the daemon does not re-derive it).
pub struct Proxied<'a> {
    pub vars: Vec<(&'a [u8], &'a [u8])>,
    pub application_group: String,
    pub script: String,
    pub https: bool,
    pub script_reloading: bool,
    pub enable_sendfile: bool,
    /// WSGIErrorOverride: an application status >= 400 is answered with Apache's error page.
    pub error_override: bool,
    pub ignore_activity: bool,
}

/// Body bytes gathered before passing them to Apache.
const COALESCE: usize = 64 * 1024;


fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

pub fn proxy(r: Request<'_>, target: &Target, p: &Proxied<'_>) -> Status {
    let g = &target.group;
    let mut environ = Pairs::with_capacity(p.vars.len(), 4096);
    for (k, v) in p.vars.iter().copied() {
        if environ.push(k, v).is_err() {
            r.log(Level::Error, "Request too large to pass to the daemon process");
            return Status::INTERNAL_SERVER_ERROR;
        }
    }
    let flags = RequestFlags {
        script_reloading: p.script_reloading,
        enable_sendfile: p.enable_sendfile,
        ignore_activity: p.ignore_activity,
        head_request: r.method() == "HEAD",
        https: p.https,
    };
    let Ok(head) = RequestHead::new(target.secret, r.request_time_us() as u64, now_us(), flags, p.script.clone(), p.application_group.clone(), environ) else {
        r.log(Level::Error, "Request too large to pass to the daemon process");
        return Status::INTERNAL_SERVER_ERROR;
    };
    let mut head_bytes = Vec::with_capacity(head.environ.encoded_len() + 64);
    wire::encode(&Frame::RequestHead(head), &mut head_bytes);

    let connect_deadline = Instant::now() + Duration::from_secs_f64(g.connect_timeout.max(0.1));
    let io_timeout = if g.socket_timeout > 0.0 { Duration::from_secs_f64(g.socket_timeout) } else { r.server_timeout() };
    // The receive timeout of a kept connection: short enough for the wait for acceptance
    // (connect-timeout); after it, time-outs in a row add up to socket-timeout.
    let wait_step = Duration::from_secs_f64(g.connect_timeout.max(0.1)).min(io_timeout);
    let transport = &mut ApacheTransport::new(r, p.enable_sendfile);
    if g.response_socket_timeout > 0.0 {
        r.set_client_write_timeout(Duration::from_secs_f64(g.response_socket_timeout));
    }
    let flush_delay = Duration::from_millis(g.response_flush_delay_ms as u64);
    let mut retry_delay = Duration::from_millis(10);
    // After a kept connection failed, or a restarting process refused the request, the next
    // attempt uses a new connection: one any process of the pool can take.
    let mut use_kept = true;
    let mut deaths = 0;
    loop {
        let kept = if use_kept { keepalive::take(&g.name) } else { None };
        let pooled = kept.is_some();
        let stream = match kept.map_or_else(|| connect(target, connect_deadline), Ok) {
            Ok(s) => s,
            Err(e) => {
                r.log(Level::Error, &format!("Unable to connect to WSGI daemon process '{}' on '{}': {e}", g.name, target.socket_path.display()));
                return Status::SERVICE_UNAVAILABLE;
            }
        };
        // A kept connection still has the timeouts it was given when it was made (the same
        // for every request of its pool): no setsockopt per request.
        let mut read_timeout = ReadTimeout { current: wait_step, waited: Duration::ZERO };
        if !pooled {
            let _ = stream.set_write_timeout(Some(io_timeout));
            // A Unix stream socket's send buffer bounds the bytes on their way, so
            // receive-buffer-size (data towards the daemon) is this end's SO_SNDBUF.
            let _ = socket::set_buffer_sizes(stream.as_fd(), g.receive_buffer_size, g.send_buffer_size);
            // Until a daemon process acknowledges the request, wait no longer than connect-timeout.
            read_timeout.current = connect_deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(100)).min(wait_step).min(ACCEPT_WAIT_STEP);
            let _ = stream.set_read_timeout(Some(read_timeout.current));
        }
        if let Err(e) = (&stream).write_all(&head_bytes) {
            if pooled {
                use_kept = false;
                continue;
            }
            r.log(Level::Error, &format!("Failed to send the request to WSGI daemon process '{}': {e}", g.name));
            return Status::INTERNAL_SERVER_ERROR;
        }
        let limits = Limits { max_head: if g.header_buffer_size > 0 { g.header_buffer_size } else { Limits::default().max_head }, ..Limits::default() };
        let coalesce = if g.response_buffer_size > 0 { g.response_buffer_size as usize } else { COALESCE };
        let accept_deadline = (!pooled).then_some(connect_deadline);
        let tuning = Tuning { accept_deadline, limits, coalesce, error_override: p.error_override, io_timeout, flush_delay };
        match relay(r, &stream, transport, &g.name, &tuning, pooled, &mut read_timeout) {
            Relay::Done(status) => return status,
            Relay::Reusable(status) => {
                if read_timeout.current != wait_step {
                    let _ = stream.set_read_timeout(Some(wait_step));
                }
                keepalive::keep(&g.name, stream, (g.processes.max(1) * g.threads.max(1)) as usize);
                return status;
            }
            Relay::Stale => use_kept = false,
            Relay::Died if deaths == 0 => {
                deaths += 1;
                use_kept = false;
            }
            Relay::Died => {
                r.log(Level::Error, &format!(
                    "Request for '{}' was running when two processes of WSGI daemon process group '{}' died; not sending it again",
                    latin1::decode(r.uri_bytes()), g.name
                ));
                return Status::BAD_GATEWAY;
            }
            Relay::Retry if Instant::now() < connect_deadline && !crate::apache::server::is_stopping() => {
                use_kept = false;
                std::thread::sleep(retry_delay);
                retry_delay = (retry_delay * 2).min(Duration::from_millis(200));
            }
            Relay::Retry => {
                r.log(Level::Error, &format!("WSGI daemon process '{}' kept refusing the request (restarting) until connect-timeout", g.name));
                return Status::SERVICE_UNAVAILABLE;
            }
        }
    }
}

/// Connects, retrying while the pool is starting or its backlog is full.
fn connect(target: &Target, deadline: Instant) -> std::io::Result<UnixStream> {
    let mut delay = Duration::from_millis(10);
    loop {
        match UnixStream::connect(&target.socket_path) {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() < deadline && !crate::apache::server::is_stopping() && matches!(e.kind(), ErrorKind::ConnectionRefused | ErrorKind::WouldBlock | ErrorKind::NotFound) => {
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_millis(250));
            }
            Err(e) => return Err(e),
        }
    }
}

/// The longest single wait for a daemon process to take a request on a new connection.
const ACCEPT_WAIT_STEP: Duration = Duration::from_millis(500);

/// How a pool's options shape the relay.
struct Tuning {
    /// New connections: until when a process may still take the request (connect-timeout),
    /// waited for in steps of ACCEPT_WAIT_STEP. Kept ones: None (their first wait decides).
    accept_deadline: Option<Instant>,
    limits: Limits,
    /// response-buffer-size: body bytes held before passing them to Apache.
    coalesce: usize,
    error_override: bool,
    io_timeout: Duration,
    /// response-flush-delay: a flush waits this long for more data to send along.
    flush_delay: Duration,
}

/// The daemon socket's receive timeout, changed only when a wait must end sooner than it.
struct ReadTimeout {
    /// What the socket has now.
    current: Duration,
    /// Time-outs in a row since the daemon last sent anything.
    waited: Duration,
}

impl ReadTimeout {
    fn progress(&mut self) {
        self.waited = Duration::ZERO;
    }

    /// After a timed-out read: whether to wait on, so that time-outs in a row add up to `limit`.
    fn wait_on(&mut self, stream: &UnixStream, limit: Duration) -> bool {
        self.waited += self.current;
        let Some(rest) = limit.checked_sub(self.waited).filter(|rest| !rest.is_zero()) else { return false };
        if rest < self.current {
            self.current = rest;
            let _ = stream.set_read_timeout(Some(rest));
        }
        true
    }
}

/// Bytes read from the daemon socket at a time while waiting for a frame header; the payload
/// of a large `Body` frame is then read straight into the buffer Apache will send.
const HEAD_READ: usize = 16 * 1024;

/// The response side of a relay: Apache's filters through the embedded transport, with body
/// bytes held (up to response-buffer-size) so small responses go out with their end in one
/// pass (Apache then sets Content-Length, as in embedded mode).
struct ToApache<'t, 'r> {
    r: Request<'r>,
    transport: &'t mut ApacheTransport<'r>,
    stream: &'t UnixStream,
    coalesce: usize,
    flush_delay: Duration,
    held: Option<BucketBuffer>,
}

impl ToApache<'_, '_> {
    /// Sends what is held once it is full.
    fn send_if_full(&mut self) -> Result<(), ClientGone> {
        match &self.held {
            Some(out) if out.spare_len() == 0 => self.transport.send_buffer(self.held.take().expect("held"), false),
            _ => Ok(()),
        }
    }

    fn send_held(&mut self) -> Result<(), ClientGone> {
        match self.held.take() {
            Some(out) => self.transport.send_buffer(out, false),
            None => Ok(()),
        }
    }

    /// Receives up to `want` body bytes from the daemon straight into the held buffer.
    fn receive_body(&mut self, want: usize, fds: &mut Vec<OwnedFd>) -> std::io::Result<usize> {
        let (transport, coalesce, stream) = (&mut *self.transport, self.coalesce, self.stream);
        let out = self.held.get_or_insert_with(|| transport.buffer(coalesce));
        let want = want.min(out.spare_len());
        out.fill_with(|spare| socket::recv_uninit_with_fds(stream, &mut spare[..want], fds))
    }
}

impl Sink for ToApache<'_, '_> {
    fn log(&mut self, level: LogLevel, msg: &str) {
        self.r.log(python::log_level(level), msg);
    }

    fn head(&mut self, status: u16, status_line: &str, headers: &[(String, String)]) {
        self.transport.set_response_head(status, status_line, headers);
    }

    fn body(&mut self, mut data: &[u8]) -> Result<(), ClientGone> {
        while !data.is_empty() {
            let (transport, coalesce) = (&mut *self.transport, self.coalesce);
            let out = self.held.get_or_insert_with(|| transport.buffer(coalesce));
            data = &data[out.extend_from_slice(data)..];
            self.send_if_full()?;
        }
        Ok(())
    }

    fn flush(&mut self, more_buffered: bool) -> Result<(), ClientGone> {
        // More data arriving within response-flush-delay goes out with this flush.
        let more_coming = more_buffered
            || (!self.flush_delay.is_zero() && matches!(socket::poll2(self.stream.as_fd(), None, Some(self.flush_delay)), Ok(socket::Ready::First)));
        match (more_coming, self.held.take()) {
            (true, held) => {
                self.held = held;
                Ok(())
            }
            (false, Some(out)) => self.transport.send_buffer(out, true),
            (false, None) => self.transport.send(&[], true),
        }
    }

    fn send_file(&mut self, fd: OwnedFd, offset: u64, length: u64) -> Result<(), ClientGone> {
        self.send_held()?;
        self.transport.send_file(fd.as_raw_fd(), offset, length)
    }

    fn finish(&mut self) {
        let _ = match self.held.take() {
            Some(out) => self.transport.finish_buffer(out),
            None => self.transport.finish(&[]),
        };
    }

    fn end_aborted(&mut self) {
        let _ = self.send_held();
        self.transport.abort();
    }

    fn abort(&mut self) {
        self.transport.abort();
    }

    fn redirect(&mut self, uri: &str) {
        self.r.internal_redirect(uri);
    }

    fn pong(&mut self) {
        let mut out = Vec::new();
        wire::encode(&Frame::Pong, &mut out);
        let _ = (&*self.stream).write_all(&out);
    }
}

/// Relays one request on `stream`; `pooled` when the connection was kept from an earlier one.
/// The I/O is here; what each frame means is `RelayState`'s.
fn relay<'r>(r: Request<'r>, stream: &UnixStream, transport: &mut ApacheTransport<'r>, name: &str, t: &Tuning, pooled: bool, timeout: &mut ReadTimeout) -> Relay {
    let mut state = RelayState::new(name, t.error_override, pooled);
    let mut sink = ToApache { r, transport, stream, coalesce: t.coalesce, flush_delay: t.flush_delay, held: None };
    let idempotent = matches!(r.method(), "GET" | "HEAD" | "OPTIONS");
    let stopping = crate::apache::server::is_stopping;
    let mut decoder = Decoder::with_limits(t.limits);
    let mut buf = [0u8; HEAD_READ];
    let mut received = Vec::new();
    loop {
        // The application is reading the request body: pass it on as it arrives.
        if state.wants_body() {
            let sent = forward_body(sink.transport, state.credit);
            if let Some(why) = sent.failure {
                // mod_wsgi 6's line, with what happened in words instead of an APR status
                r.log(Level::Error, &format!("[script {}] WSGI0126: Request data read error when proxying data to daemon process: {}.", r.filename(), why.describe()));
            }
            state.credit -= sent.body_bytes;
            state.body_ended = sent.ended;
            if send_body(sink.transport, stream, &sent).is_ok() {
                state.body_end_sent = sent.ended;
            } else {
                // The daemon closed its side: the application answered without reading the
                // rest (or the BodyEnd) of the body. Its response may be complete in the
                // socket; whether it is shows when it is read.
                state.body_ended = true;
            }
            continue;
        }
        // Payload of a Body frame that is not buffered yet: read it straight into the held buffer.
        if decoder.body_left() > 0 && decoder.buffered() == 0 {
            match sink.receive_body(decoder.body_left(), &mut received) {
                Ok(0) => return state.daemon_gone(&mut sink, "closed the connection", idempotent, stopping()),
                Ok(n) => {
                    timeout.progress();
                    state.fds.extend(received.drain(..));
                    decoder.body_read_directly(n);
                    if state.discarding() {
                        sink.held = None;
                    } else if sink.send_if_full().is_err() {
                        return Relay::Done(Status::OK);
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) && timeout.wait_on(stream, t.io_timeout) => {}
                Err(e) if is_timeout(&e) => return state.timed_out(&mut sink),
                Err(e) => return state.daemon_gone(&mut sink, &e.to_string(), idempotent, stopping()),
            }
            continue;
        }
        let step = match decoder.next_piece(t.coalesce) {
            Ok(Some(Piece::Body(data))) => state.on_body(data, &mut sink),
            Ok(Some(Piece::Frame(frame))) => {
                let was_accepted = state.accepted();
                let step = state.on_frame(frame, &mut sink, decoder.buffered() > 0);
                if !was_accepted && state.accepted() {
                    // The wait for acceptance is over: the socket-timeout wait starts now.
                    timeout.progress();
                }
                step
            }
            Ok(None) => match socket::recv_with_fds(stream, &mut buf, &mut received) {
                Ok(0) => return state.daemon_gone(&mut sink, "closed the connection", idempotent, stopping()),
                Ok(n) => {
                    timeout.progress();
                    state.fds.extend(received.drain(..));
                    decoder.feed(&buf[..n]);
                    Step::Continue
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => Step::Continue,
                // Waiting for a process to take the request: in steps, so that a stopping
                // Apache (whose pool is going away) ends the wait at once.
                Err(e) if is_timeout(&e) && !state.accepted() => {
                    if stopping() {
                        return state.stopping_before_taken(&mut sink);
                    }
                    let Some(step) = t.accept_deadline.map(|d| d.saturating_duration_since(Instant::now())).filter(|d| !d.is_zero()) else {
                        return state.not_taken(&mut sink);
                    };
                    let step = step.min(ACCEPT_WAIT_STEP);
                    if step != timeout.current {
                        timeout.current = step;
                        let _ = stream.set_read_timeout(Some(step));
                    }
                    Step::Continue
                }
                Err(e) if is_timeout(&e) && timeout.wait_on(stream, t.io_timeout) => Step::Continue,
                Err(e) if is_timeout(&e) => return state.timed_out(&mut sink),
                Err(e) => return state.daemon_gone(&mut sink, &e.to_string(), idempotent, stopping()),
            },
            Err(e) => return state.bad_response(&mut sink, &e),
        };
        if let Step::End(relay) = step {
            return relay;
        }
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// Largest Body frame of request body sent to a daemon.
const BODY_PIECE: usize = 64 * 1024;

/// What [`forward_body`] holds to send on.
struct Forwarded {
    /// Body bytes held in the transport's buckets.
    body_bytes: usize,
    /// The body is complete (`BodyEnd` goes with the bytes).
    ended: bool,
    /// The client failed; the daemon is told the body failed (never that it ended).
    failure: Option<BodyFailure>,
}

/// Takes the next piece of the request body (up to `credit` bytes) from Apache's input filters,
/// kept in their buckets. Blocks for the first bytes, then takes only what has already arrived,
/// so a slowly sent body still flows piece by piece.
fn forward_body(transport: &mut ApacheTransport<'_>, credit: usize) -> Forwarded {
    let room = credit.min(BODY_PIECE);
    let (mut got, mut ended, mut failure) = (0, false, None);
    while got < room && !ended {
        match transport.hold_body_piece(room - got, got == 0) {
            Ok(Some((n, end))) => {
                got += n;
                ended = end;
            }
            Ok(None) => break,
            Err(e) => {
                failure = Some(e);
                ended = true;
            }
        }
    }
    Forwarded { body_bytes: got, ended, failure }
}

/// Writes what `forward_body` held as a `Body` frame, followed by `BodyEnd` (or `BodyFailed`)
/// when the body is complete, in one vectored write from Apache's buckets.
fn send_body(transport: &mut ApacheTransport<'_>, stream: &UnixStream, sent: &Forwarded) -> std::io::Result<()> {
    let header = if sent.body_bytes > 0 { wire::body_header(sent.body_bytes) } else { Default::default() };
    let head: &[u8] = if sent.body_bytes > 0 { &header } else { &[] };
    let mut end = Vec::new();
    if sent.ended {
        wire::encode(&sent.failure.map_or(Frame::BodyEnd, Frame::BodyFailed), &mut end);
    }
    transport.with_held_body(head, &end, |slices| socket::write_all_vectored(stream, slices))
}
