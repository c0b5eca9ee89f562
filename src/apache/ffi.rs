//! Bindgen's view of Apache httpd and APR (see apache-headers/wrapper.h).
#![allow(non_upper_case_globals, non_camel_case_types, non_snake_case, dead_code, unsafe_op_in_unsafe_fn)]
#![allow(clippy::all, clippy::undocumented_unsafe_blocks)]
include!(concat!(env!("OUT_DIR"), "/apache_bindings.rs"));

// Our offsets (files, Content-Length) assume a 64-bit apr_off_t, as on amd64 Debian.
const _: () = assert!(std::mem::size_of::<apr_off_t>() == 8);
