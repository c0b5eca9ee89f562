//! Response bytes gathered straight into memory Apache will own: a block from the
//! connection's bucket allocator, filled (often by a read from the daemon socket) and then
//! handed to the output filters as a heap bucket, so the bytes are never copied in between
//! and the allocator recycles the blocks instead of the C heap mapping and unmapping them.

use super::ffi;
use std::mem::MaybeUninit;
use std::ptr::NonNull;

pub struct BucketBuffer {
    data: NonNull<u8>,
    capacity: usize,
    len: usize,
}

impl BucketBuffer {
    /// A block of `capacity` bytes (at least 1) from `list`, the connection's allocator.
    pub(super) fn new(list: *mut ffi::apr_bucket_alloc_t, capacity: usize) -> BucketBuffer {
        let capacity = capacity.max(1);
        // SAFETY: `list` is the live bucket allocator of the connection this thread serves; apr_bucket_alloc aborts (apr's abort function) rather than return NULL.
        let raw = unsafe { ffi::apr_bucket_alloc(capacity as ffi::apr_size_t, list) } as *mut u8;
        let data = NonNull::new(raw).expect("apr_bucket_alloc returned NULL");
        BucketBuffer { data, capacity, len: 0 }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn spare_len(&self) -> usize {
        self.capacity - self.len
    }

    /// Copies as much of `bytes` as fits; returns how many.
    pub fn extend_from_slice(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(self.spare_len());
        // SAFETY: `n` bytes fit after `len` in our block, and a Rust slice never overlaps it.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.data.as_ptr().add(self.len), n) };
        self.len += n;
        n
    }

    /// Lets `fill` write into the unfilled part (e.g. a socket read) and keeps the bytes it
    /// reports as written.
    pub fn fill_with<E>(&mut self, fill: impl FnOnce(&mut [MaybeUninit<u8>]) -> Result<usize, E>) -> Result<usize, E> {
        // SAFETY: the unfilled tail of our block, exclusively borrowed through &mut self; MaybeUninit makes no claim about its contents.
        let spare = unsafe { std::slice::from_raw_parts_mut(self.data.as_ptr().add(self.len) as *mut MaybeUninit<u8>, self.spare_len()) };
        let n = fill(spare)?;
        assert!(n <= self.capacity - self.len, "fill_with: more bytes reported than there was room for");
        self.len += n;
        Ok(n)
    }

    /// Gives the block to Apache as a heap bucket at the end of `brigade` (which must use the
    /// same allocator); an empty buffer is just freed.
    pub(super) fn append_to(self, brigade: *mut ffi::apr_bucket_brigade) {
        let this = std::mem::ManuallyDrop::new(self);
        if this.len == 0 {
            // SAFETY: our block, from apr_bucket_alloc, not shared; ManuallyDrop keeps Drop from freeing it again.
            unsafe { ffi::apr_bucket_free(this.data.as_ptr() as *mut _) };
            return;
        }
        // SAFETY: the heap bucket takes ownership of the block (freed with apr_bucket_free by Apache); `len` bytes are initialised.
        unsafe { ffi::wsgi_shim_brigade_append_owned(brigade, this.data.as_ptr() as *mut _, this.len as ffi::apr_size_t) };
    }
}

impl Drop for BucketBuffer {
    fn drop(&mut self) {
        // SAFETY: our block from apr_bucket_alloc, never handed to a bucket (append_to skips Drop).
        unsafe { ffi::apr_bucket_free(self.data.as_ptr() as *mut _) };
    }
}
