use super::*;
use crate::daemon::wire::{Pairs, ResponseHead};
use std::num::NonZeroU32;

/// Records what the relay did to the response.
#[derive(Default)]
struct Recorder {
    calls: Vec<String>,
    client_gone: bool,
}

impl Sink for Recorder {
    fn log(&mut self, level: LogLevel, msg: &str) {
        self.calls.push(format!("log {level:?}: {msg}"));
    }
    fn head(&mut self, status: u16, status_line: &str, headers: &[(String, String)]) {
        self.calls.push(format!("head {status} {status_line} {headers:?}"));
    }
    fn body(&mut self, data: &[u8]) -> Result<(), ClientGone> {
        self.calls.push(format!("body {}", String::from_utf8_lossy(data)));
        if self.client_gone { Err(ClientGone) } else { Ok(()) }
    }
    fn flush(&mut self, more_buffered: bool) -> Result<(), ClientGone> {
        self.calls.push(format!("flush more={more_buffered}"));
        Ok(())
    }
    fn send_file(&mut self, _fd: OwnedFd, offset: u64, length: u64) -> Result<(), ClientGone> {
        self.calls.push(format!("file {offset}+{length}"));
        Ok(())
    }
    fn finish(&mut self) {
        self.calls.push("finish".into());
    }
    fn end_aborted(&mut self) {
        self.calls.push("end_aborted".into());
    }
    fn abort(&mut self) {
        self.calls.push("abort".into());
    }
    fn redirect(&mut self, uri: &str) {
        self.calls.push(format!("redirect {uri}"));
    }
    fn pong(&mut self) {
        self.calls.push("pong".into());
    }
}

fn head(status: u16, line: &str, headers: &[(&str, &str)]) -> Frame {
    let mut pairs = Pairs::new();
    for (k, v) in headers {
        pairs.push(k.as_bytes(), v.as_bytes()).unwrap();
    }
    Frame::ResponseHead(ResponseHead::new(status, line, pairs).unwrap())
}

fn body_request(n: u32) -> Frame {
    Frame::BodyRequest { max: NonZeroU32::new(n).unwrap() }
}

/// Feeds frames until the relay ends; (its end or None, what the sink saw).
fn run(state: &mut RelayState<'_>, frames: Vec<Frame>) -> (Option<Relay>, Vec<String>) {
    let mut sink = Recorder::default();
    for frame in frames {
        if let Step::End(relay) = state.on_frame(frame, &mut sink, false) {
            return (Some(relay), sink.calls);
        }
    }
    (None, sink.calls)
}

fn fresh() -> RelayState<'static> {
    RelayState::new("pool", false, false)
}

#[test]
fn a_complete_response_on_a_clean_connection_can_be_reused() {
    let (end, calls) = run(&mut fresh(), vec![Frame::Pong, head(200, "200 OK", &[("Content-Type", "text/plain")]), Frame::End(Outcome::Complete)]);
    assert_eq!(end, Some(Relay::Reusable(Status::OK)));
    assert_eq!(calls, ["head 200 200 OK [(\"Content-Type\", \"text/plain\")]", "finish"]);
}

#[test]
fn anything_before_the_acknowledgement_is_a_bad_gateway() {
    let (end, calls) = run(&mut fresh(), vec![head(200, "200 OK", &[])]);
    assert_eq!(end, Some(Relay::Done(Status::BAD_GATEWAY)));
    assert!(calls[0].contains("sent ResponseHead before taking the request"), "{calls:?}");
}

#[test]
fn a_body_the_daemon_asked_for_but_did_not_get_whole_keeps_the_connection_out_of_reuse() {
    let mut state = fresh();
    let (end, _) = run(&mut state, vec![Frame::Pong, body_request(10), head(200, "200 OK", &[]), Frame::End(Outcome::Complete)]);
    assert_eq!(state.credit, 10);
    assert_eq!(end, Some(Relay::Done(Status::OK)));
    let mut state = fresh();
    state.body_end_sent = true;
    let (end, _) = run(&mut state, vec![Frame::Pong, body_request(10), head(200, "200 OK", &[]), Frame::End(Outcome::Complete)]);
    assert_eq!(end, Some(Relay::Reusable(Status::OK)));
}

#[test]
fn location_with_200_is_an_internal_redirect_and_its_body_is_dropped() {
    let mut state = fresh();
    let mut sink = Recorder::default();
    assert_eq!(state.on_frame(Frame::Pong, &mut sink, false), Step::Continue);
    assert_eq!(state.on_frame(head(200, "200 OK", &[("Location", "/elsewhere")]), &mut sink, false), Step::Continue);
    assert!(state.discarding());
    assert_eq!(state.on_body(b"ignored", &mut sink), Step::Continue);
    assert_eq!(state.on_frame(Frame::Flush, &mut sink, false), Step::Continue);
    assert_eq!(state.on_frame(Frame::End(Outcome::Complete), &mut sink, false), Step::End(Relay::Done(Status::OK)));
    assert_eq!(sink.calls, ["redirect /elsewhere"]);
    // an absolute URL, or another status, is passed on as it is
    let (_, calls) = run(&mut fresh(), vec![Frame::Pong, head(302, "302 Found", &[("Location", "/x")])]);
    assert_eq!(calls.len(), 1);
    assert!(calls[0].starts_with("head 302"));
}

#[test]
fn error_override_leaves_the_answer_to_apache() {
    let mut state = RelayState::new("pool", true, false);
    let (end, calls) = run(&mut state, vec![Frame::Pong, head(404, "404 Not Found", &[])]);
    assert_eq!(end, Some(Relay::Done(Status::NOT_FOUND)));
    assert!(calls.is_empty());
    let (end, _) = run(&mut RelayState::new("pool", true, false), vec![Frame::Pong, head(200, "200 OK", &[]), Frame::End(Outcome::Complete)]);
    assert_eq!(end, Some(Relay::Reusable(Status::OK)));
}

#[test]
fn a_failure_before_the_head_is_a_status_after_it_an_abort() {
    let (end, calls) = run(&mut fresh(), vec![Frame::Pong, Frame::End(Outcome::Failed)]);
    assert_eq!((end, calls.len()), (Some(Relay::Done(Status::INTERNAL_SERVER_ERROR)), 0));
    let (end, _) = run(&mut fresh(), vec![Frame::Pong, Frame::End(Outcome::NotFound)]);
    assert_eq!(end, Some(Relay::Done(Status::NOT_FOUND)));
    let (end, calls) = run(&mut fresh(), vec![Frame::Pong, head(200, "200 OK", &[]), Frame::End(Outcome::Failed)]);
    assert_eq!(end, Some(Relay::Done(Status::OK)));
    assert_eq!(calls.last().map(String::as_str), Some("abort"));
    let (end, calls) = run(&mut fresh(), vec![Frame::Pong, head(200, "200 OK", &[]), Frame::End(Outcome::Aborted)]);
    assert_eq!(end, Some(Relay::Done(Status::OK)));
    assert_eq!(calls.last().map(String::as_str), Some("end_aborted"));
}

#[test]
fn a_restarting_daemon_gets_the_request_again_only_if_it_consumed_nothing() {
    let (end, _) = run(&mut fresh(), vec![Frame::Pong, Frame::Rejected(RejectReason::Restarting)]);
    assert_eq!(end, Some(Relay::Retry));
    let (end, calls) = run(&mut fresh(), vec![Frame::Pong, body_request(5), Frame::Rejected(RejectReason::Restarting)]);
    assert_eq!(end, Some(Relay::Done(Status::BAD_GATEWAY)));
    assert!(calls[0].contains("Unexpected Rejected frame"), "{calls:?}");
    let (end, calls) = run(&mut fresh(), vec![Frame::Pong, Frame::Rejected(RejectReason::QueueTimeout)]);
    assert_eq!(end, Some(Relay::Done(Status::GATEWAY_TIME_OUT)));
    assert!(calls[0].contains("Queue timeout expired for WSGI daemon process 'pool'"));
}

#[test]
fn a_daemon_that_goes_away() {
    let mut sink = Recorder::default();
    // a kept connection that no process took: stale, try a new one
    assert_eq!(RelayState::new("p", false, true).daemon_gone(&mut sink, "closed", true, false), Relay::Stale);
    // before the acknowledgement, an idempotent request is retried
    assert_eq!(fresh().daemon_gone(&mut sink, "closed", true, false), Relay::Retry);
    // after it, once more
    let mut state = fresh();
    run(&mut state, vec![Frame::Pong]);
    assert_eq!(state.daemon_gone(&mut sink, "closed", true, false), Relay::Died);
    // not for a POST, nor while Apache stops
    assert_eq!(fresh().daemon_gone(&mut sink, "closed", false, false), Relay::Done(Status::BAD_GATEWAY));
    assert_eq!(fresh().daemon_gone(&mut sink, "closed", true, true), Relay::Done(Status::BAD_GATEWAY));
    // nor once the body was read or the head sent; then the response is cut short
    let mut state = fresh();
    run(&mut state, vec![Frame::Pong, head(200, "200 OK", &[])]);
    let mut sink = Recorder::default();
    assert_eq!(state.daemon_gone(&mut sink, "closed", true, false), Relay::Done(Status::OK));
    assert_eq!(sink.calls.last().map(String::as_str), Some("abort"));
}

#[test]
fn a_client_that_left_ends_the_relay() {
    let mut state = fresh();
    let mut sink = Recorder { client_gone: true, ..Default::default() };
    state.on_frame(Frame::Pong, &mut sink, false);
    state.on_frame(head(200, "200 OK", &[]), &mut sink, false);
    assert_eq!(state.on_body(b"data", &mut sink), Step::End(Relay::Done(Status::OK)));
}

#[test]
fn ping_is_answered_and_a_file_needs_its_descriptor() {
    let (end, calls) = run(&mut fresh(), vec![Frame::Pong, Frame::Ping, head(200, "200 OK", &[]), Frame::SendFile { offset: 0, length: 9 }]);
    assert_eq!(calls[0], "pong");
    assert_eq!(end, Some(Relay::Done(Status::OK)));
    assert!(calls.iter().any(|c| c.contains("sent a file without its descriptor")));
    assert_eq!(calls.last().map(String::as_str), Some("abort"));
}
