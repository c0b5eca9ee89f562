//! Connections an Apache child keeps open to each daemon pool between requests, so a request
//! costs no connect, accept and close. A kept connection may have been closed by its daemon
//! process meanwhile (restart, drain, all threads busy); the client then sees it end before
//! any process took the request and sends the request again on a new connection.

use std::collections::{HashMap, VecDeque};
use std::os::unix::net::UnixStream;
use std::sync::Mutex;

static KEPT: Mutex<Option<HashMap<String, VecDeque<UnixStream>>>> = Mutex::new(None);

/// The connection to `pool` kept longest: taking them in turn spreads requests over the
/// pool's processes (the most recent one would send a burst to the same process).
pub fn take(pool: &str) -> Option<UnixStream> {
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    kept.as_mut()?.get_mut(pool)?.pop_front()
}

/// Keeps a connection that finished a request cleanly; beyond `limit` per pool (more than
/// the pool can serve at once) it is closed instead.
pub fn keep(pool: &str, stream: UnixStream, limit: usize) {
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    let pools = kept.get_or_insert_with(HashMap::new);
    let idle = match pools.get_mut(pool) {
        Some(idle) => idle,
        None => pools.entry(pool.to_string()).or_default(),
    };
    if idle.len() < limit {
        idle.push_back(stream);
    }
}
