//! A safe view of the request being handled, and the embedded-mode transport over it.

use super::bucket::BucketBuffer;
use super::ffi;
use super::log::{self, Level};
use super::pool::{Pool, cbytes_opt, cstr_opt, cstring, pstrdup, pstrdup_bytes};
use super::server::Server;
use crate::wsgi::latin1;
use crate::wsgi::transport::{BodyFailure, ClientGone, LogLevel, Transport};
use std::ffi::c_void;
use std::io::IoSlice;
use std::os::fd::RawFd;
use std::marker::PhantomData;
use std::ptr;

/// A request Apache handed to one of our hooks, valid for 'r (that hook call). Copy: the
/// same request seen from several places of one hook call; Apache serves a request on one
/// thread, so it is neither Send nor Sync.
#[derive(Clone, Copy)]
pub struct Request<'r> {
    r: *mut ffi::request_rec,
    _life: PhantomData<&'r ffi::request_rec>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Missing,
    Regular,
    Directory,
    Other,
}

impl<'r> Request<'r> {
    /// # Safety
    /// `r` must be the live request_rec Apache passed to the current hook, which lasts 'r.
    pub unsafe fn from_raw(r: *mut ffi::request_rec) -> Request<'r> {
        Request { r, _life: PhantomData }
    }

    /// A string reachable from the request (NULL: None).
    fn text(&self, p: *const std::os::raw::c_char) -> Option<&'r str> {
        // SAFETY: strings reachable from a live request_rec are NUL-terminated, live in the request's pool (or a longer one) and are replaced, never changed in place.
        unsafe { cstr_opt(p) }
    }

    /// Like `text`, keeping non-UTF-8 bytes.
    fn bytes(&self, p: *const std::os::raw::c_char) -> Option<&'r [u8]> {
        // SAFETY: as in `text`.
        unsafe { cbytes_opt(p) }
    }

    pub fn raw(&self) -> *mut ffi::request_rec {
        self.r
    }

    fn rec(&self) -> &ffi::request_rec {
        // SAFETY: per from_raw's contract the request outlives this wrapper's use.
        unsafe { &*self.r }
    }

    pub fn pool(&self) -> Pool<'r> {
        // SAFETY: the request's pool lives as long as the request.
        unsafe { Pool::from_raw(self.rec().pool) }
    }

    /// The (virtual) server the request is for.
    pub fn server(&self) -> Server<'r> {
        // SAFETY: every request has its server_rec, which lives for the whole configuration.
        unsafe { Server::from_raw(self.rec().server) }
    }

    /// The decoded URI path as Apache holds it: bytes, since %ff and raw latin-1 bytes are
    /// legal in a request line and must still reach their application (PEP 3333 PATH_INFO is
    /// latin-1 decoded).
    pub fn uri_bytes(&self) -> &'r [u8] {
        self.bytes(self.rec().uri).unwrap_or(b"")
    }

    pub fn filename(&self) -> &'r str {
        self.text(self.rec().filename).unwrap_or("")
    }

    pub fn handler(&self) -> Option<&'r str> {
        self.text(self.rec().handler)
    }

    pub fn method(&self) -> &'r str {
        self.text(self.rec().method).unwrap_or("")
    }

    pub fn set_filename(&self, path: &[u8]) {
        let p = pstrdup_bytes(self.pool(), path);
        // SAFETY: the string lives in the request pool, as Apache expects of r->filename.
        unsafe { (*self.r).filename = p };
    }

    pub fn set_handler(&self, handler: &'static std::ffi::CStr) {
        // SAFETY: a 'static string outlives the request.
        unsafe { (*self.r).handler = handler.as_ptr() };
    }

    pub fn file_kind(&self) -> FileKind {
        match self.rec().finfo.filetype {
            ffi::apr_filetype_e_APR_NOFILE => FileKind::Missing,
            ffi::apr_filetype_e_APR_REG => FileKind::Regular,
            ffi::apr_filetype_e_APR_DIR => FileKind::Directory,
            _ => FileKind::Other,
        }
    }

    /// The script's modification time in microseconds, from Apache's own stat of it.
    pub fn file_mtime(&self) -> i64 {
        self.rec().finfo.mtime
    }

    pub fn path_info(&self) -> &'r str {
        self.text(self.rec().path_info).unwrap_or("")
    }

    pub fn allows_exec_cgi(&self) -> bool {
        // SAFETY: ap_allow_options reads the request's merged core config.
        (unsafe { ffi::ap_allow_options(self.r) } & ffi::OPT_EXECCGI) != 0
    }

    pub fn header_in(&self, name: &str) -> Option<&'r [u8]> {
        let key = cstring(name);
        // SAFETY: headers_in is the request's live table; the value lives in the request pool.
        self.bytes(unsafe { ffi::apr_table_get(self.rec().headers_in, key.as_ptr()) })
    }

    pub fn request_time_us(&self) -> i64 {
        self.rec().request_time
    }

    /// Apache's request log id (`%L`), generated now if no module asked for it yet.
    pub fn log_id(&self) -> Option<&'r str> {
        if self.rec().log_id.is_null() {
            // SAFETY: the generate_log_id hook stores a pool-allocated id in r->log_id.
            unsafe { ffi::ap_run_generate_log_id((*self.r).connection, self.r, &mut (*self.r).log_id) };
        }
        self.text(self.rec().log_id)
    }

    pub fn connection_log_id(&self) -> Option<&'r str> {
        // SAFETY: every request has a live connection.
        self.text(unsafe { (*self.rec().connection).log_id })
    }

    pub fn local_port(&self) -> u16 {
        // SAFETY: the connection's local address is set by the core for every connection.
        unsafe {
            let addr = (*self.rec().connection).local_addr;
            if addr.is_null() { 0 } else { (*addr).port }
        }
    }

    /// Serves `uri` instead, as a GET (mod_wsgi's `Location` + 200 from a daemon).
    pub fn internal_redirect(&self, uri: &str) {
        let pool = self.pool();
        let target = pstrdup(pool, uri);
        // SAFETY: the method and URI strings live in the request pool; the redirect runs the new request to completion inside this call.
        unsafe {
            (*self.r).method = c"GET".as_ptr();
            (*self.r).method_number = ffi::M_GET as i32;
            ffi::apr_table_unset((*self.r).headers_in, c"Content-Length".as_ptr());
            ffi::ap_internal_redirect_handler(target, self.r);
        }
    }

    /// Timeout for writes to the client while this request is proxied (response-socket-timeout).
    pub fn set_client_write_timeout(&self, timeout: std::time::Duration) {
        // SAFETY: the connection's socket is live for the request; the timeout only affects it.
        unsafe {
            let sock = ffi::ap_get_conn_socket((*self.r).connection);
            if !sock.is_null() {
                ffi::apr_socket_timeout_set(sock, timeout.as_micros() as ffi::apr_interval_time_t);
            }
        }
    }

    /// The client's address (mod_remoteip's view when it is loaded).
    pub fn client_ip(&self) -> &'r str {
        self.text(self.rec().useragent_ip).unwrap_or("")
    }

    /// Sets the authenticated user (a check_password() that returned a name).
    pub fn set_user(&self, user: &str) {
        let u = pstrdup(self.pool(), user);
        // SAFETY: the string lives in the request pool, as Apache expects of r->user.
        unsafe { (*self.r).user = u };
    }

    pub fn user(&self) -> Option<&'r str> {
        self.text(self.rec().user)
    }

    /// The server's `Timeout` (for I/O with daemon processes).
    pub fn server_timeout(&self) -> std::time::Duration {
        // SAFETY: every request has its server_rec.
        let us = unsafe { (*self.rec().server).timeout };
        std::time::Duration::from_micros(us.max(1_000_000) as u64)
    }

    /// The vhost's ServerName.
    pub fn server_hostname(&self) -> &'r str {
        // SAFETY: every request has its server_rec.
        self.text(unsafe { (*self.rec().server).server_hostname }).unwrap_or("")
    }

    /// The server port as Apache reports it (UseCanonicalName rules).
    pub fn server_port(&self) -> u16 {
        // SAFETY: reads the live request.
        unsafe { ffi::ap_get_server_port(self.r) }
    }

    /// The Host the client asked for, without port.
    pub fn hostname(&self) -> Option<&'r str> {
        self.text(self.rec().hostname)
    }

    pub fn local_ip(&self) -> &'r str {
        // SAFETY: as above.
        self.text(unsafe { (*self.rec().connection).local_ip }).unwrap_or("")
    }

    /// Whether the first output filter transforms content (DEFLATE, INCLUDES, cache...), so a
    /// HEAD request needs the body computed as for GET (WSGIMapHEADToGET Auto).
    pub fn has_content_filter(&self) -> bool {
        // SAFETY: output_filters is the request's live filter chain; frec is always set.
        unsafe {
            let f = self.rec().output_filters;
            !f.is_null() && !(*f).frec.is_null() && (*(*f).frec).ftype < ffi::ap_filter_type_AP_FTYPE_PROTOCOL
        }
    }

    /// Apache's CGI variables for this request (headers as HTTP_*, server and connection
    /// facts, SetEnv values), computed by Apache's own helpers.
    pub fn cgi_variables(&self) -> Vec<(&'r [u8], &'r [u8])> {
        // SAFETY: these helpers fill r->subprocess_env from the live request.
        unsafe {
            ffi::ap_add_common_vars(self.r);
            ffi::ap_add_cgi_vars(self.r);
        }
        // SAFETY: subprocess_env is the request's live table, filled just above and not changed while the request's handler runs.
        unsafe { table_entries(self.rec().subprocess_env) }
    }

    /// Prepares to read the body. Err(status) for bodies we refuse (411 for chunked unless
    /// allowed, 413 over LimitRequestBody, 400 for a bad Content-Length).
    pub fn setup_body(&self, allow_chunked: bool) -> Result<(), super::Status> {
        let policy = if allow_chunked { ffi::REQUEST_CHUNKED_DECHUNK } else { ffi::REQUEST_CHUNKED_ERROR };
        // SAFETY: called once per request before any body read.
        let status = unsafe { ffi::ap_setup_client_block(self.r, policy) };
        if status == ffi::OK { Ok(()) } else { Err(super::Status::from_apache(status)) }
    }

    pub fn log(&self, level: Level, msg: &str) {
        // SAFETY: a Request is the live request of the current hook (from_raw's contract).
        unsafe { log::request(level, self.r, msg) };
    }

    /// A note in r->notes (string lives in the request pool).
    pub fn set_note(&self, key: &'static std::ffi::CStr, value: &'static std::ffi::CStr) {
        // SAFETY: both strings are 'static; notes is the request's live table.
        unsafe { ffi::apr_table_setn(self.rec().notes, key.as_ptr(), value.as_ptr()) };
    }

    /// A variable from SetEnv/SetEnvIf/RewriteRule [E=] (for %{ENV:name}).
    pub fn env_var(&self, name: &str) -> Option<String> {
        let key = cstring(name);
        // SAFETY: subprocess_env is the request's live table.
        let v = unsafe { ffi::apr_table_get(self.rec().subprocess_env, key.as_ptr()) };
        self.text(v).map(str::to_string).or_else(|| std::env::var(name).ok())
    }
}

/// (key, value) pairs of an APR table.
///
/// # Safety
/// `t` is NULL or a live table whose entries stay unchanged for 'a.
unsafe fn table_entries<'a>(t: *const ffi::apr_table_t) -> Vec<(&'a [u8], &'a [u8])> {
    if t.is_null() {
        return Vec::new();
    }
    // SAFETY: an apr_table_t starts with its apr_array_header_t of apr_table_entry_t (apr_table_elts); entries live as long as the request pool.
    unsafe {
        let arr = &*(t as *const ffi::apr_array_header_t);
        let entries = std::slice::from_raw_parts(arr.elts as *const ffi::apr_table_entry_t, arr.nelts as usize);
        entries.iter().filter_map(|e| Some((cbytes_opt(e.key)?, cbytes_opt(e.val).unwrap_or(b"")))).collect()
    }
}

/// The WSGI core's transport over Apache's request and output filters, valid for 'r.
pub struct ApacheTransport<'r> {
    request: Request<'r>,
    brigade: *mut ffi::apr_bucket_brigade,
    /// For hold_body_piece and read_body, made on first use.
    input: *mut ffi::apr_bucket_brigade,
    /// Request-body buckets held by hold_body_piece until with_held_body, made on first use.
    held: *mut ffi::apr_bucket_brigade,
    body_asked: bool,
    head_only: bool,
    enable_sendfile: bool,
}

impl<'r> ApacheTransport<'r> {
    pub fn new(request: Request<'r>, enable_sendfile: bool) -> ApacheTransport<'r> {
        let r = request.rec();
        // SAFETY: a brigade in the request pool using the connection's bucket allocator.
        let brigade = unsafe { ffi::apr_brigade_create(r.pool, (*r.connection).bucket_alloc) };
        ApacheTransport { request, brigade, input: ptr::null_mut(), held: ptr::null_mut(), body_asked: false, head_only: r.header_only != 0, enable_sendfile }
    }

    fn append(&mut self, chunks: &[&[u8]]) {
        for chunk in chunks.iter().filter(|c| !c.is_empty()) {
            // SAFETY: transient buckets point into bytes the caller keeps alive until pass() returns; filters that keep data past that copy it (setaside).
            unsafe { ffi::wsgi_shim_brigade_append_transient(self.brigade, chunk.as_ptr() as *const _, chunk.len()) };
        }
    }

    /// Takes up to `max` request-body bytes as they come through the input filters, kept in
    /// Apache's buckets (no copy) until `with_held_body` writes them on: `Ok(None)` when nothing
    /// is ready and `block` is false, `Ok(Some((n, end)))` otherwise, where `end` says the body
    /// is complete. For relaying the body on (daemon mode); embedded mode reads through
    /// `read_body`.
    pub fn hold_body_piece(&mut self, max: usize, block: bool) -> Result<Option<(usize, bool)>, BodyFailure> {
        let r = self.request.raw();
        if self.input.is_null() {
            // SAFETY: a brigade in the request pool using the connection's bucket allocator.
            self.input = unsafe { ffi::apr_brigade_create((*r).pool, (*(*r).connection).bucket_alloc) };
        }
        if self.held.is_null() {
            // SAFETY: as above.
            self.held = unsafe { ffi::apr_brigade_create((*r).pool, (*(*r).connection).bucket_alloc) };
        }
        let mut len = max as ffi::apr_size_t;
        let mut eos = 0;
        // SAFETY: our own two brigades of this request, used on the request's thread only.
        let status = unsafe { ffi::wsgi_shim_hold_body(r, self.input, self.held, block as i32, &mut len, &mut eos) };
        match status {
            0 => Ok(Some((len as usize, eos != 0))),
            s if s == ffi::APR_EAGAIN => Ok(None),
            s => Err(body_failure(s)),
        }
    }

    /// Calls `write` with `head`, the held request-body bytes and `tail` as one list of slices
    /// (for `writev`), then lets the held buckets go.
    pub fn with_held_body<R>(&mut self, head: &[u8], tail: &[u8], write: impl FnOnce(&mut [IoSlice<'_>]) -> R) -> R {
        let mut vecs = Vec::new();
        if !self.held.is_null() {
            // SAFETY: our held brigade, not touched by anyone else meanwhile.
            let count = unsafe { ffi::wsgi_shim_brigade_count(self.held) };
            vecs = vec![ffi::iovec { iov_base: ptr::null_mut(), iov_len: 0 }; count as usize];
            let mut filled = count;
            // SAFETY: `vecs` has room for `count` entries; every held bucket is a heap (or set-aside) data bucket, so reading it neither blocks nor fails.
            unsafe { ffi::apr_brigade_to_iovec(self.held, vecs.as_mut_ptr(), &mut filled) };
            vecs.truncate(filled.max(0) as usize);
        }
        let mut slices = Vec::with_capacity(vecs.len() + 2);
        slices.push(IoSlice::new(head));
        for v in vecs.iter().filter(|v| v.iov_len > 0) {
            // SAFETY: the bytes of a held bucket, alive until the cleanup below; `slices` is dropped before it.
            slices.push(IoSlice::new(unsafe { std::slice::from_raw_parts(v.iov_base as *const u8, v.iov_len) }));
        }
        slices.push(IoSlice::new(tail));
        let result = write(&mut slices);
        drop(slices);
        if !self.held.is_null() {
            // SAFETY: no slice into the held buckets is left (dropped above).
            unsafe { ffi::apr_brigade_cleanup(self.held as *mut _) };
        }
        result
    }

    /// A buffer to gather response bytes in, owned by Apache once sent (no copy).
    pub fn buffer(&self, capacity: usize) -> BucketBuffer {
        // SAFETY: the request's connection outlives this transport; its allocator serves this thread only.
        BucketBuffer::new(unsafe { (*self.request.rec().connection).bucket_alloc }, capacity)
    }

    /// Sends a gathered buffer; `flush` pushes it to the client now.
    pub fn send_buffer(&mut self, buffer: BucketBuffer, flush: bool) -> Result<(), ClientGone> {
        buffer.append_to(self.brigade);
        if flush {
            // SAFETY: appending to our own brigade.
            unsafe { ffi::wsgi_shim_brigade_append_flush(self.brigade) };
        }
        self.pass()
    }

    /// Sends the last buffer and completes the response in one pass (Content-Length known).
    pub fn finish_buffer(&mut self, buffer: BucketBuffer) -> Result<(), ClientGone> {
        buffer.append_to(self.brigade);
        self.finish(&[])
    }

    fn pass(&mut self) -> Result<(), ClientGone> {
        let r = self.request.raw();
        // SAFETY: passing our brigade down the request's output filters, then emptying it.
        unsafe {
            let status = ffi::ap_pass_brigade((*r).output_filters, self.brigade);
            ffi::apr_brigade_cleanup(self.brigade as *mut c_void);
            if status != 0 || (*(*r).connection).aborted != 0 {
                return Err(ClientGone);
            }
        }
        Ok(())
    }
}

/// APR's status codes that are not errno values (apr_errno.h).
const APR_OS_START_STATUS: i32 = 70_000;
const APR_TIMEUP: i32 = APR_OS_START_STATUS + 7;
const APR_INCOMPLETE: i32 = APR_OS_START_STATUS + 8;
const APR_EOF: i32 = APR_OS_START_STATUS + 14;
/// httpd's AP_FILTER_ERROR: a filter already sent the error response.
const AP_FILTER_ERROR: i32 = -102;

/// What an APR status from the input filters means for the request body.
fn body_failure(status: i32) -> BodyFailure {
    match status {
        APR_INCOMPLETE | APR_EOF | libc::ECONNRESET | libc::EPIPE => BodyFailure::ClientClosed,
        APR_TIMEUP | libc::ETIMEDOUT | libc::EAGAIN => BodyFailure::TimedOut,
        AP_FILTER_ERROR => BodyFailure::Refused,
        _ => BodyFailure::Other,
    }
}

impl ApacheTransport<'static> {
    /// A transport for the WSGI core, which needs a 'static one (it sits behind Python objects).
    ///
    /// # Safety
    /// The transport must not be used once `request`'s hook call has returned (the WSGI core
    /// drops it at the end of run_request, or in FinishLater::send within the hook).
    pub unsafe fn detached(request: Request<'_>, enable_sendfile: bool) -> ApacheTransport<'static> {
        // SAFETY: the caller keeps every use of the transport within the request's lifetime.
        ApacheTransport::new(unsafe { Request::from_raw(request.raw()) }, enable_sendfile)
    }
}

impl Transport for ApacheTransport<'_> {
    fn read_body(&mut self, buf: &mut [u8]) -> Result<usize, String> {
        let r = self.request.raw();
        if !self.body_asked {
            self.body_asked = true;
            // SAFETY: after ap_setup_client_block; sends "100 Continue" if the client waits.
            if unsafe { ffi::ap_should_client_block(r) } == 0 {
                return Ok(0);
            }
        }
        if self.input.is_null() {
            // SAFETY: a brigade in the request pool using the connection's bucket allocator.
            self.input = unsafe { ffi::apr_brigade_create((*r).pool, (*(*r).connection).bucket_alloc) };
        }
        let mut len = buf.len() as ffi::apr_size_t;
        // SAFETY: reads at most `len` bytes into `buf` through our own brigade, on the request's thread.
        match unsafe { ffi::wsgi_shim_get_client_block(r, self.input, buf.as_mut_ptr() as *mut _, &mut len) } {
            0 => Ok(len as usize),
            status => Err(body_failure(status).describe().to_string()),
        }
    }

    fn set_response_head(&mut self, code: u16, status_line: &str, headers: &[(String, String)]) {
        let r = self.request.raw();
        let pool = self.request.pool();
        // SAFETY: status fields and headers are set before any output, with strings allocated in the request pool.
        unsafe {
            (*r).status = code as i32;
            (*r).status_line = pstrdup_bytes(pool, &latin1::encode(status_line));
            for (name, value) in headers {
                // PEP 3333 header strings are latin-1: each character is one byte.
                let in_pool = |v: &str| pstrdup_bytes(pool, &latin1::encode(v));
                if name.eq_ignore_ascii_case("content-type") {
                    ffi::ap_set_content_type(r, in_pool(value));
                } else if name.eq_ignore_ascii_case("content-length") {
                    if let Ok(n) = value.trim().parse::<i64>() {
                        ffi::ap_set_content_length(r, n);
                    }
                } else {
                    ffi::apr_table_add((*r).headers_out, pstrdup(pool, name), in_pool(value));
                }
            }
        }
    }

    fn send(&mut self, chunks: &[&[u8]], flush: bool) -> Result<(), ClientGone> {
        self.append(chunks);
        if flush {
            // SAFETY: appending to our own brigade.
            unsafe { ffi::wsgi_shim_brigade_append_flush(self.brigade) };
        }
        self.pass()
    }

    fn send_file(&mut self, fd: RawFd, offset: u64, len: u64) -> Result<(), ClientGone> {
        let pool = self.request.pool().raw();
        // The application closes its file when the response ends; Apache may still be sending
        // (event MPM write completion), so the bucket gets its own descriptor, closed with the
        // request pool (destroyed only after the response is written).
        // SAFETY: dup of a descriptor the application handed us and keeps open during this call.
        let own = unsafe { libc::dup(fd) };
        if own < 0 {
            return Err(ClientGone);
        }
        let mut flags = ffi::APR_FOPEN_READ;
        if self.enable_sendfile {
            flags |= ffi::APR_FOPEN_SENDFILE_ENABLED;
        }
        // SAFETY: wraps `own` in an apr_file_t in the request pool; the cleanup closes it once.
        unsafe {
            let mut file: *mut ffi::apr_file_t = ptr::null_mut();
            let mut os_fd = own;
            ffi::apr_os_file_put(&mut file, &mut os_fd, flags, pool);
            ffi::apr_pool_cleanup_register(pool, own as usize as *const c_void, Some(close_fd), Some(ffi::apr_pool_cleanup_null));
            ffi::apr_brigade_insert_file(self.brigade, file, offset as ffi::apr_off_t, len as ffi::apr_off_t, pool);
        }
        self.pass()
    }

    fn finish(&mut self, last: &[&[u8]]) -> Result<(), ClientGone> {
        self.append(last);
        // SAFETY: appending to our own brigade.
        unsafe { ffi::wsgi_shim_brigade_append_eos(self.brigade) };
        self.pass()
    }

    fn abort(&mut self) {
        let r = self.request.raw();
        // SAFETY: an error bucket makes the chunk filter withhold the last chunk; marking the connection non-keepalive makes the client see the truncation.
        unsafe {
            (*(*r).connection).keepalive = ffi::ap_conn_keepalive_e_AP_CONN_CLOSE;
            ffi::wsgi_shim_brigade_append_error(self.brigade, ffi::HTTP_BAD_GATEWAY, (*r).pool);
            ffi::wsgi_shim_brigade_append_eos(self.brigade);
        }
        let _ = self.pass();
    }

    fn log(&self, level: LogLevel, msg: &str) {
        let level = match level {
            LogLevel::Error => Level::Error,
            LogLevel::Warning => Level::Warning,
            LogLevel::Info => Level::Info,
            LogLevel::Debug => Level::Debug,
        };
        self.request.log(level, msg);
    }

    fn is_head(&self) -> bool {
        self.head_only
    }
}

unsafe extern "C" fn close_fd(data: *mut c_void) -> ffi::apr_status_t {
    // SAFETY: `data` carries the descriptor registered in send_file, closed exactly once here.
    unsafe { libc::close(data as usize as RawFd) };
    0
}
