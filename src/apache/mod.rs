//! The only place that touches Apache's C types: safe wrappers over request_rec, pools,
//! tables, brigades, logging and cmd_parms.

pub mod auth;
pub mod bucket;
pub mod commands;
pub mod ffi;
pub mod hooks;
pub mod log;
pub mod module;
pub mod pool;
pub mod request;
pub mod server;
