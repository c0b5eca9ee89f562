# Tries to inject a second header (and a fake response) through CR/LF in a
# header value or name. Not wrapped in wsgiref.validate (it would reject the
# header itself; here the server must).
#   where=value (default) | name | lf (bare LF in value)


def application(environ, start_response):
    where = environ.get("QUERY_STRING", "").partition("where=")[2] or "value"
    if where == "name":
        headers = [("X-Bad\r\nX-Injected", "yes")]
    elif where == "lf":
        headers = [("X-Bad", "a\nX-Injected: yes")]
    else:
        headers = [("X-Bad", "a\r\nX-Injected: yes\r\n\r\nHTTP/1.1 200 OK\r\nX-Smuggled: 1")]
    start_response("200 OK", [("Content-Type", "text/plain")] + headers)
    return [b"this body must not be sent"]
