//! Fuzzes the configuration-directive parser: every `WSGI*` directive of the table (and so
//! every `WSGIDaemonProcess` option), with arbitrary argument text, in every scope.
//!
//! Input: byte 0 picks the directive, byte 1 the scope and whether it is inside
//! `<WSGIInterpreterOptions>`, the rest is the raw argument text (lossy UTF-8, as Apache hands
//! it over). Checks: no panic, and the same input always gives the same verdict.

#![no_main]

use libfuzzer_sys::fuzz_target;

use mod_wsgi_rs::config::{Scope, parse_in, table::DIRECTIVES};

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let spec = &DIRECTIVES[data[0] as usize % DIRECTIVES.len()];
    let name = spec.cname.to_str().expect("directive names are ASCII");
    let scope = [Scope::Server, Scope::VirtualHost, Scope::Directory][(data[1] % 3) as usize];
    let in_block = data[1] & 0x80 != 0;
    let args = String::from_utf8_lossy(&data[2..]);
    let first = parse_in(name, &args, scope, in_block).map(|_| ());
    let again = parse_in(name, &args, scope, in_block).map(|_| ());
    assert_eq!(first, again, "{name} {args:?}: the verdict changed between two parses");
});
