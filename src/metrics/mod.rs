//! Counters every serving process adds to, for the `wsgi-metrics` handler (Prometheus text
//! format): requests by status class and process group, latency histograms, busy and idle
//! threads, daemon restarts and their reasons, reloads, and each process's RSS and CPU.
//!
//! The counters live in memory the Apache parent shares with every process it forks
//! (`sys::shm`), laid out by `table`, so the Apache child that answers a scrape sees the
//! daemon processes' figures too. `prometheus` renders a snapshot; it is pure.

#![forbid(unsafe_code)]

pub mod prometheus;
pub mod table;

pub use table::{Kind, Phase, RestartReason};
