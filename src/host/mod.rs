//! Hosting WSGI applications in a process, the same way in an Apache child (embedded mode)
//! and in a daemon process: Python's start-up and shutdown (`python`), serving one request
//! with an application from its script (`serve`), and the Python access/auth scripts
//! (`access`). Called by the entry points (`hooks`) and by the daemon worker.

#![forbid(unsafe_code)]

pub mod access;
pub mod python;
pub mod report;
pub mod serve;
