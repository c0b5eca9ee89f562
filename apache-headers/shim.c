/* Apache/APR macros and variadic functions, wrapped as plain functions for Rust. */
#include "shim.h"
#include <http_log.h>
#include <http_protocol.h>
#include <ap_mmn.h>

void wsgi_shim_log_error(const char *file, int line, int module_index, int level,
                         apr_status_t status, const server_rec *s, const char *msg)
{
    ap_log_error_(file, line, module_index, level, status, s, "%s", msg);
}

void wsgi_shim_log_rerror(const char *file, int line, int module_index, int level,
                          apr_status_t status, const request_rec *r, const char *msg)
{
    ap_log_rerror_(file, line, module_index, level, status, r, "%s", msg);
}

void wsgi_shim_brigade_append_transient(apr_bucket_brigade *bb, const char *data, apr_size_t len)
{
    apr_bucket *b = apr_bucket_transient_create(data, len, bb->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(bb, b);
}

void wsgi_shim_brigade_append_owned(apr_bucket_brigade *bb, char *data, apr_size_t len)
{
    apr_bucket *b = apr_bucket_heap_create(data, len, apr_bucket_free, bb->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(bb, b);
}

void wsgi_shim_brigade_append_flush(apr_bucket_brigade *bb)
{
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_flush_create(bb->bucket_alloc));
}

void wsgi_shim_brigade_append_eos(apr_bucket_brigade *bb)
{
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
}

void wsgi_shim_brigade_append_error(apr_bucket_brigade *bb, int status, apr_pool_t *pool)
{
    APR_BRIGADE_INSERT_TAIL(bb, ap_bucket_error_create(status, NULL, pool, bb->bucket_alloc));
}

int wsgi_shim_brigade_empty(apr_bucket_brigade *bb)
{
    return APR_BRIGADE_EMPTY(bb);
}

apr_status_t wsgi_shim_hold_body(request_rec *r, apr_bucket_brigade *tmp, apr_bucket_brigade *held,
                                 int block, apr_size_t *len, int *eos)
{
    apr_bucket *b, *next;
    apr_off_t got = 0;
    apr_status_t rv = ap_get_brigade(r->input_filters, tmp, AP_MODE_READBYTES,
                                     block ? APR_BLOCK_READ : APR_NONBLOCK_READ, *len);
    *eos = 0;
    *len = 0;
    if (rv != APR_SUCCESS) {
        apr_brigade_cleanup(tmp);
        return rv;
    }
    for (b = APR_BRIGADE_FIRST(tmp); b != APR_BRIGADE_SENTINEL(tmp); b = next) {
        next = APR_BUCKET_NEXT(b);
        if (APR_BUCKET_IS_METADATA(b)) {
            if (APR_BUCKET_IS_EOS(b))
                *eos = 1;
            apr_bucket_delete(b);
            continue;
        }
        /* A transient bucket's bytes are valid only until the next read: copy those. */
        rv = apr_bucket_setaside(b, r->pool);
        if (rv != APR_SUCCESS && rv != APR_ENOTIMPL) {
            apr_brigade_cleanup(tmp);
            return rv;
        }
    }
    rv = apr_brigade_length(tmp, 1, &got);
    if (rv != APR_SUCCESS) {
        apr_brigade_cleanup(tmp);
        return rv;
    }
    APR_BRIGADE_CONCAT(held, tmp);
    *len = (apr_size_t)got;
    if (got == 0 && !*eos && !block)
        return APR_EAGAIN;
    return APR_SUCCESS;
}

int wsgi_shim_brigade_count(apr_bucket_brigade *bb)
{
    int n = 0;
    apr_bucket *b;
    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb); b = APR_BUCKET_NEXT(b))
        n++;
    return n;
}

int wsgi_shim_mmn_major(void) { return MODULE_MAGIC_NUMBER_MAJOR; }
int wsgi_shim_mmn_minor(void) { return MODULE_MAGIC_NUMBER_MINOR; }
unsigned long wsgi_shim_magic_cookie(void) { return (unsigned long)MODULE_MAGIC_COOKIE; }

/* ap_get_client_block, keeping the status it throws away (which embedded mode needs to say
 * why a body read failed: client gone, timed out, refused by a filter). The same request
 * state is kept: r->remaining at the end of the body, r->read_length, no keep-alive after a
 * failure. */
apr_status_t wsgi_shim_get_client_block(request_rec *r, apr_bucket_brigade *bb, char *buf,
                                        apr_size_t *len)
{
    apr_status_t rv;
    if (r->remaining < 0 || (!r->read_chunked && r->remaining == 0)) {
        *len = 0;
        return APR_SUCCESS;
    }
    rv = ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES, APR_BLOCK_READ, *len);
    if (rv == APR_SUCCESS && APR_BRIGADE_EMPTY(bb))
        rv = APR_EGENERAL; /* a blocking read must return data or EOS */
    if (rv != APR_SUCCESS) {
        apr_brigade_cleanup(bb);
        if (rv != AP_FILTER_ERROR)
            r->connection->keepalive = AP_CONN_CLOSE;
        *len = 0;
        return rv;
    }
    if (APR_BUCKET_IS_EOS(APR_BRIGADE_LAST(bb)))
        r->remaining = r->read_chunked ? -1 : 0;
    rv = apr_brigade_flatten(bb, buf, len);
    apr_brigade_cleanup(bb);
    if (rv == APR_SUCCESS)
        r->read_length += *len;
    return rv;
}
