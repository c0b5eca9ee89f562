//! mod_wsgi_rs: Apache httpd's mod_wsgi in Rust.
//!
//! - `apache`: the only code touching Apache's C types (module struct, directives, hooks,
//!   requests, brigades, logging).
//! - `config`: directive parsing and merging, pure.
//! - `mapping`: which WSGIScriptAlias serves a URI.
//! - `embedded`: the handler running WSGI apps inside the Apache child.
//! - `access`: Python access, authentication, group and dispatch hooks.
//! - `wsgi`: the WSGI core, transport-independent.
//! - `python`: interpreter lifecycle, thread states, native callables, script loading.
//! - `daemon`: daemon mode (pools, supervisor, worker processes, wire protocol, proxying).
//! - `lifecycle`: startup checks and Python in each child.
//! - `sys`: thin libc wrappers (processes, privileges, sockets).

pub mod access;
pub mod apache;
pub mod config;
pub mod daemon;
pub mod embedded;
pub mod lifecycle;
pub mod mapping;
pub mod python;
pub mod sys;
pub mod wsgi;

pub use apache::module::wsgi_module;
