# A script whose import fails.
import mod_wsgi_rs_no_such_module_4711  # noqa: F401


def application(environ, start_response):
    start_response("200 OK", [])
    return [b"unreachable"]
