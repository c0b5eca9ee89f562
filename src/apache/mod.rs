//! The only place that wraps Apache's C types: requests, servers, pools, tables, brigades,
//! logging and our config-vector slots, as safe types bound to Apache's lifetimes. It calls
//! nothing above it; the entry points (`hooks`) hand it the raw pointers Apache passes them.

pub mod bucket;
pub mod cmd;
pub mod ffi;
pub mod log;
pub mod pool;
pub mod regex;
pub mod request;
pub mod server;
pub mod slots;
pub mod status;

pub use pool::Pool;
pub use request::Request;
pub use server::Server;
pub use status::Status;
