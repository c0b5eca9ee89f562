//! The daemon side of a proxied request: the WSGI core's transport over the connection to the
//! Apache child, speaking `wire` frames.

use super::wire::{self, Decoder, Frame, Outcome, Pairs, Piece, ResponseHead};
use crate::sys::socket;
use crate::wsgi::latin1;
use crate::wsgi::transport::{ClientGone, LogLevel, Transport};
use std::cell::RefCell;
use std::io::{IoSlice, Read, Write};
use std::num::NonZeroU32;
use std::os::fd::{AsFd, RawFd};
use std::os::unix::net::UnixStream;
use std::rc::Rc;

/// One connection from an Apache child; requests follow each other on it.
pub struct Connection {
    pub stream: UnixStream,
    decoder: Decoder,
    out: Vec<u8>,
    /// The current request's body, as granted to and received from the Apache child.
    body: BodyFlow,
    /// Request-body bytes let on their way at once (see `body_window`).
    body_window: usize,
}

#[derive(Default)]
struct BodyFlow {
    /// Bytes granted (BodyRequest) and not received yet.
    granted: usize,
    started: bool,
    ended: bool,
}

/// Request-body bytes a daemon lets the Apache child send ahead of the application's reads:
/// below the default Unix socket buffer (212,992 bytes), with room for frame overhead.
const BODY_WINDOW: usize = 128 * 1024;

/// The body window for a connection whose Apache end has SO_SNDBUF set to
/// `receive_buffer_size` (0: the system default). The kernel doubles what is set and counts
/// frame overhead against it; half of it always fits.
pub fn body_window(receive_buffer_size: u32) -> usize {
    match receive_buffer_size {
        0 => BODY_WINDOW,
        n => (n as usize).min(BODY_WINDOW),
    }
}

impl Connection {
    pub fn new(stream: UnixStream, body_window: usize) -> Connection {
        Connection { stream, decoder: Decoder::new(), out: Vec::with_capacity(16 * 1024), body: BodyFlow::default(), body_window }
    }

    /// Request-body bytes into `buf` (straight from the socket when none are buffered); 0 at
    /// the end of the body.
    fn read_body(&mut self, buf: &mut [u8]) -> Result<usize, String> {
        // Keep up to the window's bytes on their way, granting more once half has arrived, so
        // the body streams without a round trip per read. Never more: bytes the application
        // does not read must fit in the socket buffer, or the Apache child could block on
        // them while the application blocks writing its response.
        let window = self.body_window;
        if !self.body.ended && self.body.granted <= window / 2 {
            let more = NonZeroU32::new((window - self.body.granted) as u32).expect("window not full");
            self.send(&Frame::BodyRequest { max: more }).map_err(|e| format!("sending to Apache: {e}"))?;
            self.body.granted = window;
            self.body.started = true;
        }
        loop {
            if self.decoder.body_left() > 0 && self.decoder.buffered() == 0 {
                let want = buf.len().min(self.decoder.body_left());
                let n = self.stream.read(&mut buf[..want]).map_err(|e| e.to_string())?;
                if n == 0 {
                    return Err("Apache closed the connection while the request body was read".into());
                }
                self.decoder.body_read_directly(n);
                self.body.granted = self.body.granted.saturating_sub(n);
                return Ok(n);
            }
            match self.decoder.next_piece(buf.len()).map_err(|e| e.to_string())? {
                Some(Piece::Body(data)) => {
                    let n = data.len();
                    buf[..n].copy_from_slice(data);
                    self.body.granted = self.body.granted.saturating_sub(n);
                    return Ok(n);
                }
                Some(Piece::Frame(Frame::BodyEnd)) => {
                    self.body.ended = true;
                    return Ok(0);
                }
                // The body stops short: the application sees an error, as in embedded mode.
                Some(Piece::Frame(Frame::BodyFailed(why))) => {
                    self.body.ended = true;
                    return Err(why.describe().to_string());
                }
                Some(Piece::Frame(other)) => return Err(format!("unexpected {:?} frame while reading the request body", other.kind())),
                None => {
                    if !self.fill()? {
                        return Err("Apache closed the connection while the request body was read".into());
                    }
                }
            }
        }
    }

    /// Reads more bytes into the decoder; false at end of stream.
    fn fill(&mut self) -> Result<bool, String> {
        let mut buf = [0u8; 16 * 1024];
        let n = match self.stream.read(&mut buf) {
            Ok(n) => n,
            // The Apache child closed the connection without reading all of the last
            // response (its client went away): between frames that is just the end.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && self.decoder.buffered() == 0 => 0,
            Err(e) => return Err(e.to_string()),
        };
        self.decoder.feed(&buf[..n]);
        Ok(n > 0)
    }

    /// Whether the last request left request-body frames on the connection (the application
    /// did not read its whole body): the connection cannot carry another request.
    pub fn body_unfinished(&self) -> bool {
        self.body.started && !self.body.ended
    }

    /// After a response whose application stopped reading before the end of its body (as
    /// frameworks do at CONTENT_LENGTH): takes in the rest if it has already arrived, never
    /// waiting for it. At most the granted window is outstanding, so this reads little. True
    /// when the body's end was reached: the connection can carry another request.
    pub fn finish_arrived_body(&mut self) -> bool {
        while self.body_unfinished() {
            match self.decoder.next_piece(usize::MAX) {
                Ok(Some(Piece::Body(_))) => {}
                Ok(Some(Piece::Frame(Frame::BodyEnd | Frame::BodyFailed(_)))) => self.body.ended = true,
                Ok(Some(Piece::Frame(_))) | Err(_) => return false,
                Ok(None) => {
                    if !crate::sys::socket::readable_now(self.stream.as_fd()) || !matches!(self.fill(), Ok(true)) {
                        return false;
                    }
                }
            }
        }
        true
    }

    /// Bytes of a next frame already read from the socket (epoll will not report them).
    pub fn has_buffered_input(&self) -> bool {
        self.decoder.buffered() > 0
    }

    /// The next frame; Ok(None) when the peer closed the connection between frames.
    pub fn read_frame(&mut self) -> Result<Option<Frame>, String> {
        if self.decoder.body_left() > 0 {
            return Err("request body left unread on the connection".into());
        }
        loop {
            if let Some(frame) = self.decoder.next_frame().map_err(|e| e.to_string())? {
                if let Frame::RequestHead(_) = frame {
                    self.body = BodyFlow::default();
                }
                return Ok(Some(frame));
            }
            if !self.fill()? {
                return if self.decoder.buffered() == 0 { Ok(None) } else { Err("connection closed inside a frame".into()) };
            }
        }
    }

    /// Encodes frames into the output buffer; `flush_out` writes them.
    pub fn push(&mut self, frame: &Frame) {
        wire::encode(frame, &mut self.out);
    }

    pub fn push_body(&mut self, data: &[u8]) {
        wire::encode_body(data, &mut self.out);
    }

    /// Writes what is buffered, then `chunks` as `Body` frames, then `after`. Large chunks go
    /// out from where they lie (one vectored write), small ones are copied into one write.
    pub fn write_body(&mut self, chunks: &[&[u8]], after: &[Frame]) -> std::io::Result<()> {
        let total: usize = chunks.iter().map(|c| c.len()).sum();
        if total <= COPY_BELOW {
            for chunk in chunks {
                self.push_body(chunk);
            }
            for frame in after {
                self.push(frame);
            }
            return self.flush_out();
        }
        let pieces: Vec<&[u8]> = chunks.iter().flat_map(|c| c.chunks(wire::BODY_CHUNK as usize)).collect();
        let headers: Vec<[u8; wire::HEADER_LEN]> = pieces.iter().map(|p| wire::body_header(p.len())).collect();
        let mut tail = Vec::new();
        for frame in after {
            wire::encode(frame, &mut tail);
        }
        let mut slices = Vec::with_capacity(2 + 2 * pieces.len());
        slices.push(IoSlice::new(&self.out));
        for (header, piece) in headers.iter().zip(&pieces) {
            slices.push(IoSlice::new(header));
            slices.push(IoSlice::new(piece));
        }
        slices.push(IoSlice::new(&tail));
        let result = socket::write_all_vectored(&mut self.stream, &mut slices);
        self.out.clear();
        result
    }

    pub fn flush_out(&mut self) -> std::io::Result<()> {
        let result = self.stream.write_all(&self.out);
        self.out.clear();
        result
    }

    pub fn send(&mut self, frame: &Frame) -> std::io::Result<()> {
        self.push(frame);
        self.flush_out()
    }
}

/// Body bytes below this are copied next to their frame headers (one small write beats a
/// vectored one); above it they are written from the application's buffer.
const COPY_BELOW: usize = 16 * 1024;

pub struct DaemonTransport {
    conn: Rc<RefCell<Connection>>,
    body_done: bool,
    head_request: bool,
    /// "[remote ip:port] " for log lines.
    remote: String,
    log: fn(LogLevel, &str),
}

impl DaemonTransport {
    pub fn new(conn: Rc<RefCell<Connection>>, head_request: bool, remote: String, log: fn(LogLevel, &str)) -> DaemonTransport {
        DaemonTransport { conn, body_done: false, head_request, remote, log }
    }

    fn send_body(&mut self, chunks: &[&[u8]], after: &[Frame]) -> Result<(), ClientGone> {
        self.conn.borrow_mut().write_body(chunks, after).map_err(|_| ClientGone)
    }

    fn write(&mut self, f: impl FnOnce(&mut Connection)) -> Result<(), ClientGone> {
        let mut conn = self.conn.borrow_mut();
        f(&mut conn);
        conn.flush_out().map_err(|_| ClientGone)
    }
}

impl Transport for DaemonTransport {
    fn read_body(&mut self, buf: &mut [u8]) -> Result<usize, String> {
        if self.body_done || buf.is_empty() {
            return Ok(0);
        }
        let n = self.conn.borrow_mut().read_body(buf)?;
        if n == 0 {
            self.body_done = true;
        }
        Ok(n)
    }

    fn set_response_head(&mut self, code: u16, status_line: &str, headers: &[(String, String)]) {
        let pairs = Pairs::from_pairs(headers.iter().map(|(k, v)| (k.as_bytes(), latin1::encode(v))));
        let head = pairs.and_then(|p| ResponseHead::new(code, latin1::encode(status_line), p));
        // A head the codec refuses cannot happen for validated headers; the response then
        // fails at the next write instead.
        if let Ok(head) = head {
            self.conn.borrow_mut().push(&Frame::ResponseHead(head));
        }
    }

    fn send(&mut self, chunks: &[&[u8]], flush: bool) -> Result<(), ClientGone> {
        let after: &[Frame] = if flush { &[Frame::Flush] } else { &[] };
        self.send_body(chunks, after)
    }

    fn send_file(&mut self, fd: RawFd, offset: u64, length: u64) -> Result<(), ClientGone> {
        let mut conn = self.conn.borrow_mut();
        conn.flush_out().map_err(|_| ClientGone)?;
        let mut frame = Vec::new();
        wire::encode(&Frame::SendFile { offset, length }, &mut frame);
        crate::sys::socket::send_with_fd(&conn.stream, &frame, fd).map_err(|_| ClientGone)
    }

    fn finish(&mut self, last: &[&[u8]]) -> Result<(), ClientGone> {
        self.send_body(last, &[Frame::End(Outcome::Complete)])
    }

    fn abort(&mut self) {
        let _ = self.write(|conn| conn.push(&Frame::End(Outcome::Aborted)));
    }

    fn log(&self, level: LogLevel, msg: &str) {
        (self.log)(level, &format!("{}{msg}", self.remote));
    }

    fn is_head(&self) -> bool {
        self.head_request
    }
}

#[cfg(test)]
mod tests {
    use super::{body_window, BODY_WINDOW};

    #[test]
    fn body_window_never_exceeds_a_set_receive_buffer_size() {
        assert_eq!(body_window(0), BODY_WINDOW);
        assert_eq!(body_window(4096), 4096);
        assert_eq!(body_window(4 * 1024 * 1024), BODY_WINDOW);
    }
}
