//! CPython: interpreter lifecycle, thread states and the GIL, native callables, exceptions,
//! script loading. Everything here that calls the C API directly is FFI glue with a
//! `// SAFETY:` line per block; the rest of the crate uses safe functions from here.

pub mod exceptions;
pub mod admission;
pub mod gil;
pub mod mod_wsgi;
pub mod interp;
pub mod native;
pub mod runtime;
pub mod script;
