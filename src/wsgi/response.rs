//! Sending the response head and body through the transport, with the Content-Length cut-off.

use super::state::RequestState;
use super::transport::ClientGone;
use crate::python::gil::without_gil;
use pyo3::Python;

/// mod_wsgi 6's words for response content produced before start_response().
pub const NO_START_RESPONSE: &str = "start_response() must be called before response content is produced";

/// Sends status and headers if not sent yet. Err if start_response was never called.
pub fn ensure_head_sent(st: &mut RequestState) -> Result<(), &'static str> {
    if st.head_sent {
        return Ok(());
    }
    let head = st.head.as_ref().ok_or(NO_START_RESPONSE)?;
    st.transport.set_response_head(head.code, &head.line, &head.headers);
    st.head_sent = true;
    Ok(())
}

/// Sends body chunks (head first), cutting off what exceeds the application's
/// Content-Length. Blocks without the GIL.
pub fn send_chunks(py: Python<'_>, st: &mut RequestState, chunks: &[&[u8]], flush: bool) -> Result<(), ClientGone> {
    if st.client_gone {
        return Err(ClientGone);
    }
    let allowed = cut_to_content_length(st, chunks);
    if allowed.is_empty() && !flush {
        return Ok(());
    }
    let transport = &mut st.transport;
    let started = std::time::Instant::now();
    let result = without_gil(py, || transport.send(&allowed, flush));
    st.stats.output_writes += 1;
    st.stats.output_time += started.elapsed();
    if result.is_err() {
        st.client_gone = true;
    }
    result
}

/// The part of `chunks` still within the application's Content-Length (all of it when none
/// was given), counted as sent.
pub fn cut_to_content_length<'a>(st: &mut RequestState, chunks: &[&'a [u8]]) -> Vec<&'a [u8]> {
    let mut allowed = Vec::with_capacity(chunks.len());
    for chunk in chunks {
        let n = st.allowed_body(chunk.len());
        if n > 0 {
            allowed.push(&chunk[..n]);
            st.body_sent += n as u64;
        }
        if n < chunk.len() && !st.body_cut_logged && st.body_expected() {
            // said once, like the shorter case: the application's length and body disagree
            st.body_cut_logged = true;
            let promised = st.head.as_ref().and_then(|h| h.content_length).unwrap_or(0);
            let msg = format!("Response body of '{}' is longer than its Content-Length of {promised}; the rest was not sent", st.script);
            st.transport.log(super::transport::LogLevel::Warning, &msg);
        }
    }
    allowed
}
