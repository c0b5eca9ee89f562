//! WSGIScriptAliasMatch patterns, compiled by Apache's own regex engine (PCRE via
//! ap_regex), so a pattern means what it means in AliasMatch.

use super::ffi;
use super::pool::{Pool, cbytes_opt, cstring};
use crate::config::UriPattern;

/// A compiled pattern, owned by the configuration pool it was compiled in.
#[derive(Debug)]
pub struct Regex {
    compiled: *const ffi::ap_regex_t,
}

// SAFETY: ap_regexec only reads the compiled pattern (each call gets its own match data), so
// request threads may match it at once; it is freed with the config pool, after every request.
unsafe impl Send for Regex {}
// SAFETY: as above.
unsafe impl Sync for Regex {}

impl Regex {
    /// Compiles `pattern` into `pool` (ap_pregcomp, extended syntax); None if it is invalid.
    /// The Regex must not outlive `pool`: a configuration pool, which outlives its requests.
    pub fn compile(pool: Pool<'_>, pattern: &str) -> Option<Regex> {
        let c = cstring(pattern);
        // SAFETY: ap_pregcomp compiles into a live pool and registers the pattern's cleanup there.
        let compiled = unsafe { ffi::ap_pregcomp(pool.raw(), c.as_ptr(), ffi::AP_REG_EXTENDED) };
        (!compiled.is_null()).then_some(Regex { compiled })
    }
}

/// A scratch pool for one substitution, destroyed when dropped.
struct Scratch(*mut ffi::apr_pool_t);

impl Scratch {
    fn new() -> Option<Scratch> {
        let mut p = std::ptr::null_mut();
        // SAFETY: creates a top-level pool (APR's global allocator is thread-safe).
        let status = unsafe { ffi::apr_pool_create_ex(&mut p, std::ptr::null_mut(), None, std::ptr::null_mut()) };
        (status == 0 && !p.is_null()).then_some(Scratch(p))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // SAFETY: the pool was created by Scratch::new and nothing made in it is used after this.
        unsafe { ffi::apr_pool_destroy(self.0) };
    }
}

impl UriPattern for Regex {
    fn substitute(&self, uri: &[u8], target: &str) -> Option<Vec<u8>> {
        const N: usize = ffi::AP_MAX_REG_MATCH as usize;
        let mut matches = [ffi::ap_regmatch_t::default(); N];
        // A URI with a NUL byte cannot be matched by a C regex API; no alias maps it.
        let uri_c = std::ffi::CString::new(uri).ok()?;
        let target_c = cstring(target);
        // SAFETY: the pattern is alive (see the type's Sync note); matches has room for N entries.
        if unsafe { ffi::ap_regexec(self.compiled, uri_c.as_ptr(), N, matches.as_mut_ptr(), 0) } != 0 {
            return None;
        }
        let scratch = Scratch::new()?;
        // SAFETY: ap_pregsub reads the strings and matches above and allocates its result in the scratch pool, read before the pool is destroyed.
        let filled = unsafe { cbytes_opt(ffi::ap_pregsub(scratch.0, target_c.as_ptr(), uri_c.as_ptr(), N, matches.as_mut_ptr())) }?;
        let rest = uri.get(matches[0].rm_eo as usize..).unwrap_or(b"");
        Some([filled, rest].concat())
    }
}
