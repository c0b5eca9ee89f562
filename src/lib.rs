//! mod_wsgi_rs: Apache httpd's mod_wsgi in Rust. Layers, top to bottom (each calls only the
//! ones below it; ARCHITECTURE.md has the picture and a request's path in both modes):
//!
//! - `hooks`: entry points. The module struct, directives, hooks, routing, environ assembly.
//! - `daemon`: daemon mode: pools, supervisor, worker processes, the Apache child's relay,
//!   the wire protocol.
//! - `host`: Python in a process and one serving path for both modes.
//! - `wsgi`: the WSGI core (PEP 3333), transport-independent.
//! - `telemetry`: mod_wsgi 6's telemetry datagrams: counters, encoder, reporter thread.
//! - `python`: CPython wrappers: interpreters, GIL, native callables, script loading.
//! - `config`: directive parsing and merging, pure.
//! - `apache`, `sys`: safe wrappers over Apache/APR and over the kernel.

#![warn(clippy::undocumented_unsafe_blocks)]

pub mod apache;
pub mod config;
pub mod daemon;
pub mod hooks;
pub mod metrics;
pub mod host;
pub mod python;
pub mod sys;
pub mod telemetry;
pub mod wsgi;

pub use hooks::module::wsgi_module;
