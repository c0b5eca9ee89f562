//! `SetHandler wsgi-metrics`: the shared counters of every process of this Apache
//! (`crate::metrics`) in Prometheus' text format. Access is Apache's business: put it in a
//! `<Location>` with the `Require` lines it needs.

use crate::apache::request::ApacheTransport;
use crate::apache::{Request, Status};
use crate::metrics::{prometheus, table};
use crate::sys::process;
use crate::wsgi::transport::Transport;

pub const HANDLER: &str = "wsgi-metrics";

pub fn serve(r: Request<'_>) -> Status {
    if !matches!(r.method(), "GET" | "HEAD") {
        return Status::METHOD_NOT_ALLOWED;
    }
    let text = match table::current() {
        Some(t) => {
            let alive = |pid: u32| process::exists(pid as process::Pid);
            prometheus::render(&t.snapshot(alive), &|pid| process::cpu_and_rss(pid as process::Pid))
        }
        None => String::new(),
    };
    let mut transport = ApacheTransport::new(r, false);
    transport.set_response_head(200, "200 OK", &[("Content-Type".into(), prometheus::CONTENT_TYPE.into())]);
    // a client that left needs no answer
    let _ = transport.finish(&[text.as_bytes()]);
    Status::OK
}
