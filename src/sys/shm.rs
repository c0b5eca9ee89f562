//! Memory shared by the Apache parent and every process it forks (Apache children, daemon
//! supervisors and workers): an anonymous shared mapping made before the forks. It holds
//! only atomic counters, so every process may read and add to it at once.

use std::num::NonZeroUsize;
use std::sync::atomic::AtomicU64;

/// `words` zeroed counters in a new shared mapping, for the life of the process (and of
/// every process forked after). None if the kernel refuses the mapping.
pub fn shared_counters(words: usize) -> Option<&'static [AtomicU64]> {
    use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous};
    let len = NonZeroUsize::new(words * std::mem::size_of::<AtomicU64>())?;
    // SAFETY: a fresh anonymous mapping aliases nothing; it is zero-filled (a valid AtomicU64), page-aligned (more than AtomicU64 needs) and never unmapped, so the 'static borrow stays valid; atomics are sound to share between processes.
    unsafe {
        let ptr = mmap_anonymous(None, len, ProtFlags::PROT_READ | ProtFlags::PROT_WRITE, MapFlags::MAP_SHARED).ok()?;
        Some(std::slice::from_raw_parts(ptr.as_ptr() as *const AtomicU64, words))
    }
}
