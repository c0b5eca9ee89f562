# Returns its version; tests rewrite VERSION and touch the file to check
# WSGIScriptReloading. LOADS counts how often this module was executed in
# this process.
import os
from wsgiref.validate import validator

VERSION = 1

import builtins  # noqa: E402

builtins._mod_wsgi_rs_reload_count = getattr(builtins, "_mod_wsgi_rs_reload_count", 0) + 1
LOADS = builtins._mod_wsgi_rs_reload_count


def app(environ, start_response):
    body = f"version={VERSION} loads={LOADS} pid={os.getpid()} name={__name__}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


application = validator(app)
