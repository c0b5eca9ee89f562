/* Apache/APR macros re-exported as functions so Rust can call them. */
#ifndef MOD_WSGI_RS_SHIM_H
#define MOD_WSGI_RS_SHIM_H
#include <httpd.h>
#include <apr_buckets.h>

void wsgi_shim_log_error(const char *file, int line, int module_index, int level,
                         apr_status_t status, const server_rec *s, const char *msg);
void wsgi_shim_log_rerror(const char *file, int line, int module_index, int level,
                          apr_status_t status, const request_rec *r, const char *msg);

void wsgi_shim_brigade_append_transient(apr_bucket_brigade *bb, const char *data, apr_size_t len);
/* A heap bucket taking ownership of `data`, a block from apr_bucket_alloc on bb's allocator. */
void wsgi_shim_brigade_append_owned(apr_bucket_brigade *bb, char *data, apr_size_t len);
void wsgi_shim_brigade_append_flush(apr_bucket_brigade *bb);
void wsgi_shim_brigade_append_eos(apr_bucket_brigade *bb);
/* An error bucket: the HTTP/1.1 chunk filter then withholds the last chunk and the connection
 * is closed, so a client can tell a truncated response from a complete one. */
void wsgi_shim_brigade_append_error(apr_bucket_brigade *bb, int status, apr_pool_t *pool);
int wsgi_shim_brigade_empty(apr_bucket_brigade *bb);

/* Reads up to *len request-body bytes into buf through the input filters, blocking or not.
 * APR_SUCCESS: *len bytes (maybe 0), *eos set once the body is complete; APR_EAGAIN: nothing
 * is ready yet (non-blocking); anything else: the client failed. */
apr_status_t wsgi_shim_get_client_block(request_rec *r, apr_bucket_brigade *bb, char *buf,
                                        apr_size_t *len);

/* Reads up to *len request-body bytes through the input filters, blocking or not, keeping them
 * in Apache's buckets: appended to `held` (transient ones set aside), so they can be written on
 * without a copy. `tmp` is an empty brigade to read into. APR_SUCCESS: *len bytes added (maybe
 * 0), *eos set once the body is complete; APR_EAGAIN: nothing is ready yet (non-blocking);
 * anything else: the client failed. */
apr_status_t wsgi_shim_hold_body(request_rec *r, apr_bucket_brigade *tmp, apr_bucket_brigade *held,
                                 int block, apr_size_t *len, int *eos);
/* The number of buckets in bb (an upper bound on the iovecs apr_brigade_to_iovec fills). */
int wsgi_shim_brigade_count(apr_bucket_brigade *bb);

int wsgi_shim_mmn_major(void);
int wsgi_shim_mmn_minor(void);
unsigned long wsgi_shim_magic_cookie(void);
#endif
