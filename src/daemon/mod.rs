//! Daemon mode (WSGIDaemonProcess / WSGIProcessGroup).
//!
//! Processes: the Apache parent (root) creates each pool's listening socket, so queued
//! connections survive daemon restarts, and forks one supervisor per pool. The supervisor
//! forks the pool's worker processes, restarts them when they die, and on a script change
//! starts a new generation before the old one stops taking work (no request fails).
//! A worker drops privileges, starts Python and serves connections with `threads` threads.
//! An Apache child proxies a request over the socket with our own framed protocol (`wire`),
//! and keeps the connection for its next request to the pool (`keepalive`).

#![forbid(unsafe_code)]

pub mod accounts;
pub mod client;
pub mod keepalive;
pub mod pools;
pub mod relay;
pub mod supervisor;
pub mod transport;
pub mod watch;
pub mod wire;
pub mod worker;
