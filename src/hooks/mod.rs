//! Entry points: everything Apache calls. The module struct and hook registration
//! (`module`), the directive table (`directives`), process hooks (`process`, `startup`),
//! URL mapping (`route`), the handler that picks embedded or daemon mode and assembles the
//! environ (`handler`), and the auth providers (`auth`). This layer calls down; nothing in
//! the crate calls it.

pub mod auth;
pub mod directives;
pub mod handler;
pub mod metrics;
pub mod module;
pub mod process;
pub mod route;
pub mod startup;
