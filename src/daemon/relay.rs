//! What the Apache child does with each frame a daemon process sends for one request, as a
//! state machine. The caller does the I/O: it reads the socket, forwards the request body and
//! feeds the frames in; the response goes to a `Sink` (Apache's filters, in the module). So
//! every rule here (acceptance, redirects, error-override, retries, failures after the head)
//! is unit-tested without Apache or a daemon.

use super::wire::{Frame, Outcome, RejectReason, WireError};
use crate::apache::Status;
use crate::wsgi::latin1;
use crate::wsgi::transport::{ClientGone, LogLevel};
use std::collections::VecDeque;
use std::os::fd::OwnedFd;

/// Where the response goes.
pub trait Sink {
    fn log(&mut self, level: LogLevel, msg: &str);
    fn head(&mut self, status: u16, status_line: &str, headers: &[(String, String)]);
    fn body(&mut self, data: &[u8]) -> Result<(), ClientGone>;
    /// Pushes what is held to the client, unless more is coming soon (`more_buffered`: the
    /// next frame has arrived already).
    fn flush(&mut self, more_buffered: bool) -> Result<(), ClientGone>;
    fn send_file(&mut self, fd: OwnedFd, offset: u64, length: u64) -> Result<(), ClientGone>;
    /// The response is complete.
    fn finish(&mut self);
    /// The daemon gave up mid-response: send what is held, then cut the response short.
    fn end_aborted(&mut self);
    /// Cut the response short now (the client must not take it as complete).
    fn abort(&mut self);
    /// Serve `uri` instead (mod_wsgi's `Location: /path` with status 200).
    fn redirect(&mut self, uri: &str);
    /// Answer the daemon's Ping.
    fn pong(&mut self);
}

/// How a request's relay ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Relay {
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

/// After a frame: go on reading, or the relay is over.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    Continue,
    End(Relay),
}

/// One request's relay so far.
pub struct RelayState<'a> {
    /// The pool's name, for log lines.
    name: &'a str,
    error_override: bool,
    /// The connection was kept from an earlier request.
    pooled: bool,
    /// A process took the request (its Pong came).
    accepted: bool,
    redirect: Option<String>,
    head_sent: bool,
    /// The daemon asked for request-body bytes: the request cannot be sent again.
    consumed: bool,
    /// Request-body bytes the daemon granted and the child has not sent yet.
    pub credit: usize,
    /// The client's body is over (complete, failed, or the daemon stopped taking it).
    pub body_ended: bool,
    /// The daemon got the whole body, BodyEnd included: it can keep the connection.
    pub body_end_sent: bool,
    /// Descriptors that came with the frames (SendFile), in order.
    pub fds: VecDeque<OwnedFd>,
}

impl<'a> RelayState<'a> {
    pub fn new(name: &'a str, error_override: bool, pooled: bool) -> RelayState<'a> {
        RelayState {
            name,
            error_override,
            pooled,
            accepted: false,
            redirect: None,
            head_sent: false,
            consumed: false,
            credit: 0,
            body_ended: false,
            body_end_sent: false,
            fds: VecDeque::new(),
        }
    }

    pub fn accepted(&self) -> bool {
        self.accepted
    }

    /// The daemon wants body bytes the child has not sent yet.
    pub fn wants_body(&self) -> bool {
        self.credit > 0 && !self.body_ended
    }

    /// The response body is thrown away (an internal redirect follows).
    pub fn discarding(&self) -> bool {
        self.redirect.is_some()
    }

    /// `more_buffered`: bytes of a further frame are already in the decoder.
    pub fn on_frame(&mut self, frame: Frame, sink: &mut dyn Sink, more_buffered: bool) -> Step {
        if !self.accepted {
            // A daemon acknowledges a request before anything else; another frame first could
            // only be left over from an earlier request on this connection.
            if !matches!(frame, Frame::Pong) {
                sink.log(LogLevel::Error, &format!("WSGI daemon process '{}' sent {:?} before taking the request", self.name, frame.kind()));
                return Step::End(Relay::Done(Status::BAD_GATEWAY));
            }
            self.accepted = true;
        }
        let name = self.name;
        let client_gone = Step::End(Relay::Done(Status::OK));
        match frame {
            // The daemon's acknowledgement that a process has the request.
            Frame::Pong => {}
            Frame::BodyRequest { max } => {
                self.consumed = true;
                // Credit granted after the end stays unused: the BodyEnd already sent is
                // ahead of it on the connection, and is the daemon's answer.
                self.credit = self.credit.saturating_add(max.get() as usize);
            }
            Frame::ResponseHead(h) => {
                let (status, line, headers) = h.into_parts();
                if self.error_override && status >= 400 {
                    // Apache's ErrorDocument answers; the daemon sees the connection close.
                    return Step::End(Relay::Done(Status::from_apache(status as i32)));
                }
                let headers: Vec<(String, String)> = headers.iter().map(|(k, v)| (latin1::decode(k), latin1::decode(v))).collect();
                let location = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("location")).map(|(_, v)| v.clone());
                if status == 200 && location.as_deref().is_some_and(|l| l.starts_with('/')) {
                    self.redirect = location;
                    return Step::Continue;
                }
                sink.head(status, &latin1::decode(&line), &headers);
                self.head_sent = true;
            }
            Frame::Flush | Frame::SendFile { .. } if self.discarding() => self.fds.clear(),
            Frame::End(Outcome::Complete) if self.discarding() => {
                sink.redirect(self.redirect.as_deref().unwrap_or("/"));
                return Step::End(Relay::Done(Status::OK));
            }
            Frame::Flush => {
                if sink.flush(more_buffered).is_err() {
                    return client_gone;
                }
            }
            Frame::SendFile { offset, length } => {
                let Some(fd) = self.fds.pop_front() else {
                    sink.log(LogLevel::Error, &format!("WSGI daemon process '{name}' sent a file without its descriptor"));
                    return Step::End(self.fail(sink, Status::BAD_GATEWAY));
                };
                if sink.send_file(fd, offset, length).is_err() {
                    return client_gone;
                }
            }
            Frame::End(Outcome::Complete) => {
                sink.finish();
                // A daemon that asked for the body keeps the connection only once it has read
                // the BodyEnd (it takes in an end that has arrived even when its application
                // stopped at CONTENT_LENGTH); a daemon that closed shows as a stale connection
                // next time, and that request goes out again on a new one.
                let clean = (!self.consumed || self.body_end_sent) && self.fds.is_empty() && !more_buffered;
                return Step::End(if clean { Relay::Reusable(Status::OK) } else { Relay::Done(Status::OK) });
            }
            Frame::End(Outcome::Aborted) => {
                sink.end_aborted();
                return Step::End(Relay::Done(Status::OK));
            }
            Frame::End(Outcome::Failed) => return Step::End(self.fail(sink, Status::INTERNAL_SERVER_ERROR)),
            Frame::End(Outcome::NotFound) => return Step::End(self.fail(sink, Status::NOT_FOUND)),
            Frame::Rejected(RejectReason::Restarting) if !self.consumed && !self.head_sent => return Step::End(Relay::Retry),
            Frame::Rejected(RejectReason::QueueTimeout) if !self.head_sent => {
                sink.log(LogLevel::Error, &format!("Queue timeout expired for WSGI daemon process '{name}'"));
                return Step::End(Relay::Done(Status::GATEWAY_TIME_OUT));
            }
            Frame::Ping => sink.pong(),
            other => {
                sink.log(LogLevel::Error, &format!("Unexpected {:?} frame from WSGI daemon process '{name}'", other.kind()));
                return Step::End(self.fail(sink, Status::BAD_GATEWAY));
            }
        }
        Step::Continue
    }

    /// A piece of a Body frame's payload.
    pub fn on_body(&mut self, data: &[u8], sink: &mut dyn Sink) -> Step {
        if self.discarding() || sink.body(data).is_ok() { Step::Continue } else { Step::End(Relay::Done(Status::OK)) }
    }

    /// The daemon went away mid-request (crash, kill -9). Before anything was consumed or
    /// sent, a retry reaches another (or the restarted) process; otherwise the client must
    /// see the failure. `idempotent`: the method may be sent twice; `stopping`: Apache is.
    pub fn daemon_gone(&mut self, sink: &mut dyn Sink, why: &str, idempotent: bool, stopping: bool) -> Relay {
        if self.pooled && !self.accepted {
            return Relay::Stale;
        }
        let name = self.name;
        // While Apache stops, the pool is stopping too: a retry would only wait.
        if !self.head_sent && !self.consumed && idempotent && !stopping {
            sink.log(LogLevel::Info, &format!("WSGI daemon process '{name}' {why} before answering; retrying the request"));
            // A process that had taken the request died running it: the request may be what
            // killed it, so it gets one more try, not one per replacement process.
            return if self.accepted { Relay::Died } else { Relay::Retry };
        }
        sink.log(LogLevel::Error, &format!("WSGI daemon process '{name}' {why} before the response was complete"));
        self.fail(sink, Status::BAD_GATEWAY)
    }

    /// socket-timeout passed with nothing from the daemon.
    pub fn timed_out(&mut self, sink: &mut dyn Sink) -> Relay {
        sink.log(LogLevel::Error, &format!("Timeout when reading response from WSGI daemon process '{}'", self.name));
        self.fail(sink, Status::GATEWAY_TIME_OUT)
    }

    /// No process took the request within connect-timeout.
    pub fn not_taken(&mut self, sink: &mut dyn Sink) -> Relay {
        sink.log(
            LogLevel::Error,
            &format!("No process of WSGI daemon process group '{}' took the request within connect-timeout (is the pool able to start? see its log lines)", self.name),
        );
        Relay::Done(Status::SERVICE_UNAVAILABLE)
    }

    /// Apache is stopping while the request waits for a process.
    pub fn stopping_before_taken(&mut self, sink: &mut dyn Sink) -> Relay {
        sink.log(LogLevel::Info, &format!("Apache is stopping: the request for WSGI daemon process '{}' was not taken by any process", self.name));
        Relay::Done(Status::SERVICE_UNAVAILABLE)
    }

    /// The bytes from the daemon are not the wire protocol.
    pub fn bad_response(&mut self, sink: &mut dyn Sink, e: &WireError) -> Relay {
        sink.log(LogLevel::Error, &format!("Bad response from WSGI daemon process '{}': {e}", self.name));
        self.fail(sink, Status::BAD_GATEWAY)
    }

    /// A failure answers `status` before the head went out; after it, the response is cut
    /// short so the client cannot take it as complete.
    fn fail(&mut self, sink: &mut dyn Sink, status: Status) -> Relay {
        if self.head_sent {
            sink.abort();
            Relay::Done(Status::OK)
        } else {
            Relay::Done(status)
        }
    }
}

#[cfg(test)]
mod tests;
