//! mod_wsgi_rs: Apache httpd's mod_wsgi in Rust.
//!
//! - `apache`: the only code touching Apache's C types (module struct, directives, hooks,
//!   requests, brigades, logging).
//! - `config`: directive parsing and merging, pure.
//! - `mapping`: which WSGIScriptAlias serves a URI.
//! - `embedded`: the handler running WSGI apps inside the Apache child.
//! - `wsgi`: the WSGI core, transport-independent.
//! - `python`: interpreter lifecycle, thread states, native callables, script loading.
//! - `lifecycle`: startup checks and Python in each child.

pub mod apache;
pub mod config;
pub mod embedded;
pub mod lifecycle;
pub mod mapping;
pub mod python;
pub mod wsgi;

pub use apache::module::wsgi_module;
