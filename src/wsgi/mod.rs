//! The WSGI core (PEP 3333), Apache-free: environ, start_response and header rules, response
//! iteration, wsgi.input, wsgi.errors, file_wrapper. Transports implement `transport::Transport`.

#![forbid(unsafe_code)]

pub mod callbacks;
pub mod environ;
pub mod headers;
pub mod latin1;
pub mod proxy;
pub mod record;
pub mod response;
pub mod run;
pub mod state;
pub mod transport;
