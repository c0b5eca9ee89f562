//! Cyclic-GC passes, for GC_EVENT records: pushed by whichever thread ran the collection
//! (from `gc.callbacks`, holding its interpreter's GIL), drained by the reporter without it.
//! A ring of 256 as mod_wsgi's: when full, the oldest event goes.

use std::collections::VecDeque;
use std::sync::Mutex;

const RING: usize = 256;
/// Events sent per tick (mod_wsgi drains up to 64).
pub const PER_TICK: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GcEvent {
    pub start_us: u64,
    pub duration_us: u64,
    pub generation: u64,
    pub collected: u64,
    pub uncollectable: u64,
}

static EVENTS: Mutex<VecDeque<GcEvent>> = Mutex::new(VecDeque::new());

pub fn push(event: GcEvent) {
    if !super::metrics::enabled() {
        return;
    }
    let mut ring = EVENTS.lock().unwrap_or_else(|e| e.into_inner());
    if ring.len() >= RING {
        ring.pop_front();
    }
    ring.push_back(event);
}

pub fn drain() -> Vec<GcEvent> {
    let mut ring = EVENTS.lock().unwrap_or_else(|e| e.into_inner());
    let n = ring.len().min(PER_TICK);
    ring.drain(..n).collect()
}
