//! The Apache child's side of daemon mode: send the request to the pool's socket, feed the
//! daemon the request body as its application reads it, and relay the response through
//! Apache's output filters (the same transport embedded mode uses).

use super::keepalive;
use super::pools::Target;
use super::wire::{self, BodyFailure, Decoder, Frame, Limits, Outcome, Pairs, Piece, RejectReason, RequestFlags, RequestHead};
use crate::apache::bucket::BucketBuffer;
use crate::apache::log::Level;
use crate::apache::request::ApacheTransport;
use crate::apache::{Request, Status};
use crate::sys::socket;
use crate::wsgi::latin1;
use crate::wsgi::transport::Transport;
use std::collections::VecDeque;
use std::io::{ErrorKind, Write};
use std::os::fd::{AsRawFd, OwnedFd};
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

enum Relay {
    Done(Status),
    /// Done, and the connection can carry the next request.
    Reusable(Status),
    /// The daemon could not take the request (restarting); nothing was consumed.
    Retry,
    /// A kept connection ended before any process took the request: send it on a new one.
    Stale,
    /// The process running the request died before answering (idempotent, nothing consumed).
    Died,
}

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

/// Relays one request on `stream`; `pooled` when the connection was kept from an earlier one.
fn relay(r: Request<'_>, stream: &UnixStream, transport: &mut ApacheTransport<'_>, name: &str, t: &Tuning, pooled: bool, timeout: &mut ReadTimeout) -> Relay {
    let (coalesce, error_override, io_timeout) = (t.coalesce, t.error_override, t.io_timeout);
    let mut accepted = false;
    let mut decoder = Decoder::with_limits(t.limits);
    // mod_wsgi's daemon mode: `Location: /path` with status 200 is an internal redirect.
    let mut redirect: Option<String> = None;
    let mut fds: VecDeque<OwnedFd> = VecDeque::new();
    let mut buf = [0u8; HEAD_READ];
    // Request-body bytes the daemon granted (BodyRequest) and not yet sent, and the frames
    // carrying them (reused for each piece).
    let mut credit = 0usize;
    let mut body_ended = false;
    // The daemon got the whole body, BodyEnd included: it can keep the connection.
    let mut body_end_sent = false;
    let mut body_frames = Vec::new();
    let mut head_sent = false;
    let mut consumed = false;
    // Body bytes held back so small responses go out with the end of the response in one pass
    // (Apache then sets Content-Length, as in embedded mode); sent once `coalesce` are here.
    let mut pending: Option<BucketBuffer> = None;
    loop {
        // The application is reading the request body: pass it on as it arrives.
        if credit > 0 && !body_ended {
            let sent = forward_body(transport, credit, &mut body_frames);
            if let Some(why) = sent.failure {
                // mod_wsgi 6's line, with what happened in words instead of an APR status
                r.log(Level::Error, &format!("[script {}] WSGI0126: Request data read error when proxying data to daemon process: {}.", r.filename(), why.describe()));
            }
            credit -= sent.body_bytes;
            body_ended = sent.ended;
            if (&*stream).write_all(&body_frames[..sent.frame_bytes]).is_ok() {
                body_end_sent = sent.ended;
            } else {
                // The daemon closed its side: the application answered without reading the
                // rest (or the BodyEnd) of the body. Its response may be complete in the
                // socket; whether it is shows when it is read.
                body_ended = true;
            }
            continue;
        }
        // Payload of a Body frame that is not buffered yet: read it straight into `pending`.
        if decoder.body_left() > 0 && decoder.buffered() == 0 {
            let out = pending.get_or_insert_with(|| transport.buffer(coalesce));
            let want = decoder.body_left().min(out.spare_len());
            let mut received = Vec::new();
            match out.fill_with(|spare| socket::recv_uninit_with_fds(stream, &mut spare[..want], &mut received)) {
                Ok(0) => return daemon_gone(r, transport, name, head_sent, consumed, pooled, accepted, "closed the connection"),
                Ok(n) => {
                    timeout.progress();
                    fds.extend(received);
                    decoder.body_read_directly(n);
                    if redirect.is_some() {
                        pending = None;
                    } else if out.spare_len() == 0 && transport.send_buffer(pending.take().expect("filled above"), false).is_err() {
                        return Relay::Done(Status::OK);
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) && timeout.wait_on(stream, io_timeout) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    r.log(Level::Error, &format!("Timeout when reading response from WSGI daemon process '{name}'"));
                    return finish_failed(transport, head_sent, Status::GATEWAY_TIME_OUT);
                }
                Err(e) => return daemon_gone(r, transport, name, head_sent, consumed, pooled, accepted, &e.to_string()),
            }
            continue;
        }
        let frame = match decoder.next_piece(coalesce) {
            Ok(Some(Piece::Body(data))) => {
                if redirect.is_some() {
                    continue;
                }
                let mut data = data;
                while !data.is_empty() {
                    let out = pending.get_or_insert_with(|| transport.buffer(coalesce));
                    data = &data[out.extend_from_slice(data)..];
                    if out.spare_len() == 0 && transport.send_buffer(pending.take().expect("filled above"), false).is_err() {
                        return Relay::Done(Status::OK);
                    }
                }
                continue;
            }
            Ok(Some(Piece::Frame(frame))) => frame,
            Ok(None) => {
                let mut received = Vec::new();
                match socket::recv_with_fds(stream, &mut buf, &mut received) {
                    Ok(0) => return daemon_gone(r, transport, name, head_sent, consumed, pooled, accepted, "closed the connection"),
                    Ok(n) => {
                        timeout.progress();
                        fds.extend(received);
                        decoder.feed(&buf[..n]);
                        continue;
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    // Waiting for a process to take the request: in steps, so that a stopping
                    // Apache (whose pool is going away) ends the wait at once.
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) && !accepted => {
                        if crate::apache::server::is_stopping() {
                            r.log(Level::Info, &format!("Apache is stopping: the request for WSGI daemon process '{name}' was not taken by any process"));
                            return Relay::Done(Status::SERVICE_UNAVAILABLE);
                        }
                        if let Some(step) = t.accept_deadline.map(|d| d.saturating_duration_since(Instant::now())).filter(|d| !d.is_zero()) {
                            let step = step.min(ACCEPT_WAIT_STEP);
                            if step != timeout.current {
                                timeout.current = step;
                                let _ = stream.set_read_timeout(Some(step));
                            }
                            continue;
                        }
                        r.log(Level::Error, &format!("No process of WSGI daemon process group '{name}' took the request within connect-timeout (is the pool able to start? see its log lines)"));
                        return Relay::Done(Status::SERVICE_UNAVAILABLE);
                    }
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) && timeout.wait_on(stream, io_timeout) => continue,
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                        r.log(Level::Error, &format!("Timeout when reading response from WSGI daemon process '{name}'"));
                        return finish_failed(transport, head_sent, Status::GATEWAY_TIME_OUT);
                    }
                    Err(e) => return daemon_gone(r, transport, name, head_sent, consumed, pooled, accepted, &e.to_string()),
                }
            }
            Err(e) => {
                r.log(Level::Error, &format!("Bad response from WSGI daemon process '{name}': {e}"));
                return finish_failed(transport, head_sent, Status::BAD_GATEWAY);
            }
        };
        if !accepted {
            // A daemon acknowledges a request before anything else; another frame first could
            // only be left over from an earlier request on this connection.
            if !matches!(frame, Frame::Pong) {
                r.log(Level::Error, &format!("WSGI daemon process '{name}' sent {:?} before taking the request", frame.kind()));
                return Relay::Done(Status::BAD_GATEWAY);
            }
            accepted = true;
            // The wait for acceptance is over: the socket-timeout wait starts now.
            timeout.progress();
        }
        match frame {
            // The daemon's acknowledgement that a process has the request.
            Frame::Pong => {}
            Frame::BodyRequest { max } => {
                consumed = true;
                // Credit granted after the end stays unused: the BodyEnd already sent is
                // ahead of it on the connection, and is the daemon's answer.
                credit = credit.saturating_add(max.get() as usize);
            }
            Frame::ResponseHead(h) => {
                let (status, line, headers) = h.into_parts();
                if error_override && status >= 400 {
                    // Apache's ErrorDocument answers; the daemon sees the connection close.
                    return Relay::Done(Status::from_apache(status as i32));
                }
                let headers: Vec<(String, String)> = headers.iter().map(|(k, v)| (latin1::decode(k), latin1::decode(v))).collect();
                let location = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("location")).map(|(_, v)| v.clone());
                if status == 200 && location.as_deref().is_some_and(|l| l.starts_with('/')) {
                    redirect = location;
                    continue;
                }
                transport.set_response_head(status, &latin1::decode(&line), &headers);
                head_sent = true;
            }
            Frame::Flush | Frame::SendFile { .. } if redirect.is_some() => {
                fds.clear();
            }
            Frame::End(Outcome::Complete) if redirect.is_some() => {
                r.internal_redirect(redirect.as_deref().unwrap_or("/"));
                return Relay::Done(Status::OK);
            }
            Frame::Flush => {
                // More data arriving within response-flush-delay goes out with this flush.
                let more_coming = decoder.buffered() > 0
                    || (!t.flush_delay.is_zero()
                        && matches!(socket::poll2(stream.as_raw_fd(), -1, Some(t.flush_delay)), Ok(socket::Ready::First)));
                let sent = match (more_coming, pending.take()) {
                    (true, held) => {
                        pending = held;
                        Ok(())
                    }
                    (false, Some(out)) => transport.send_buffer(out, true),
                    (false, None) => transport.send(&[], true),
                };
                if sent.is_err() {
                    return Relay::Done(Status::OK);
                }
            }
            Frame::SendFile { offset, length } => {
                let Some(fd) = fds.pop_front() else {
                    r.log(Level::Error, &format!("WSGI daemon process '{name}' sent a file without its descriptor"));
                    return finish_failed(transport, head_sent, Status::BAD_GATEWAY);
                };
                if let Some(out) = pending.take() {
                    if transport.send_buffer(out, false).is_err() {
                        return Relay::Done(Status::OK);
                    }
                }
                if transport.send_file(fd.as_raw_fd(), offset, length).is_err() {
                    return Relay::Done(Status::OK);
                }
            }
            Frame::End(Outcome::Complete) => {
                let _ = match pending.take() {
                    Some(out) => transport.finish_buffer(out),
                    None => transport.finish(&[]),
                };
                // A daemon that asked for the body keeps the connection only once it has read
                // the BodyEnd (it takes in an end that has arrived even when its application
                // stopped at CONTENT_LENGTH); a daemon that closed shows as a stale connection
                // next time, and that request goes out again on a new one.
                let clean = (!consumed || body_end_sent) && fds.is_empty() && decoder.buffered() == 0;
                return if clean { Relay::Reusable(Status::OK) } else { Relay::Done(Status::OK) };
            }
            Frame::End(Outcome::Aborted) => {
                if let Some(out) = pending.take() {
                    let _ = transport.send_buffer(out, false);
                }
                transport.abort();
                return Relay::Done(Status::OK);
            }
            Frame::End(Outcome::Failed) => return finish_failed(transport, head_sent, Status::INTERNAL_SERVER_ERROR),
            Frame::End(Outcome::NotFound) => return finish_failed(transport, head_sent, Status::NOT_FOUND),
            Frame::Rejected(RejectReason::Restarting) if !consumed && !head_sent => return Relay::Retry,
            Frame::Rejected(RejectReason::QueueTimeout) if !head_sent => {
                r.log(Level::Error, &format!("Queue timeout expired for WSGI daemon process '{name}'"));
                return Relay::Done(Status::GATEWAY_TIME_OUT);
            }
            Frame::Ping => {
                let mut out = Vec::new();
                wire::encode(&Frame::Pong, &mut out);
                let _ = (&*stream).write_all(&out);
            }
            other => {
                r.log(Level::Error, &format!("Unexpected {:?} frame from WSGI daemon process '{name}'", other.kind()));
                return finish_failed(transport, head_sent, Status::BAD_GATEWAY);
            }
        }
    }
}

/// Largest Body frame of request body sent to a daemon.
const BODY_PIECE: usize = 64 * 1024;

/// What [`forward_body`] put in the frame buffer.
struct Forwarded {
    /// Bytes of frames to write.
    frame_bytes: usize,
    body_bytes: usize,
    /// The body is complete (`BodyEnd` is among the frames).
    ended: bool,
    /// The client failed; the daemon is told the body failed (never that it ended).
    failure: Option<BodyFailure>,
}

/// Reads the next piece of the request body (up to `credit` bytes) into `frames` as a `Body`
/// frame, followed by `BodyEnd` when the body is complete. Blocks for the first bytes, then
/// takes only what has already arrived, so a slowly sent body still flows piece by piece.
fn forward_body(transport: &mut ApacheTransport<'_>, credit: usize, frames: &mut Vec<u8>) -> Forwarded {
    let room = credit.min(BODY_PIECE);
    // Sized once per request, reused for every piece.
    frames.resize(frames.len().max(wire::HEADER_LEN + BODY_PIECE + wire::HEADER_LEN), 0);
    let (mut got, mut ended, mut failure) = (0, false, None);
    while got < room && !ended {
        match transport.read_body_piece(&mut frames[wire::HEADER_LEN + got..wire::HEADER_LEN + room], got == 0) {
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
    let mut frame_bytes = 0;
    if got > 0 {
        frames[..wire::HEADER_LEN].copy_from_slice(&wire::body_header(got));
        frame_bytes = wire::HEADER_LEN + got;
    }
    if ended {
        let mut end = Vec::with_capacity(wire::HEADER_LEN + 1);
        wire::encode(&failure.map_or(Frame::BodyEnd, Frame::BodyFailed), &mut end);
        frames[frame_bytes..frame_bytes + end.len()].copy_from_slice(&end);
        frame_bytes += end.len();
    }
    Forwarded { frame_bytes, body_bytes: got, ended, failure }
}

/// The daemon went away mid-request (crash, kill -9). Before anything was consumed or sent,
/// a retry reaches another (or the restarted) process; otherwise the client must see failure.
#[allow(clippy::too_many_arguments)]
fn daemon_gone(r: Request<'_>, transport: &mut ApacheTransport<'_>, name: &str, head_sent: bool, consumed: bool, pooled: bool, accepted: bool, why: &str) -> Relay {
    if pooled && !accepted {
        return Relay::Stale;
    }
    let idempotent = matches!(r.method(), "GET" | "HEAD" | "OPTIONS");
    // While Apache stops, the pool is stopping too: a retry would only wait.
    if !head_sent && !consumed && idempotent && !crate::apache::server::is_stopping() {
        r.log(Level::Info, &format!("WSGI daemon process '{name}' {why} before answering; retrying the request"));
        // A process that had taken the request died running it: the request may be what
        // killed it, so it gets one more try, not one per replacement process.
        return if accepted { Relay::Died } else { Relay::Retry };
    }
    r.log(Level::Error, &format!("WSGI daemon process '{name}' {why} before the response was complete"));
    finish_failed(transport, head_sent, Status::BAD_GATEWAY)
}

fn finish_failed(transport: &mut ApacheTransport<'_>, head_sent: bool, status: Status) -> Relay {
    if head_sent {
        transport.abort();
        Relay::Done(Status::OK)
    } else {
        Relay::Done(status)
    }
}

