//! mod_wsgi 6's telemetry: each serving process pushes samples, lifecycle events and
//! slow-request records as datagrams to the receiver named by WSGITelemetryService
//! (mod-wsgi-telemetry). No Apache and no Python here: request threads record into
//! `metrics` (and never wait on the reporter), the `reporter` thread turns that into
//! datagrams (`sample`, `wire`) and sends them without blocking.

#![forbid(unsafe_code)]

pub mod gc;
pub mod metrics;
pub mod reporter;
pub mod sample;
pub mod wire;
