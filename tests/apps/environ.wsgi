# Dumps the WSGI environ as JSON: every str/int/float/bool/None/tuple value,
# plus the types of the stream objects. The request method is also sent as
# the X-Request-Method header so HEAD requests can be checked.
import json
import os
import threading
from wsgiref.validate import validator

SIMPLE = (str, int, float, bool, type(None))


def _jsonable(value):
    if isinstance(value, SIMPLE):
        return True
    if isinstance(value, tuple):
        return all(isinstance(v, SIMPLE) for v in value)
    return False


def _typename(obj):
    if isinstance(obj, type):  # wsgi.file_wrapper is usually a class
        return f"class {obj.__module__}.{obj.__qualname__}"
    t = type(obj)
    return f"{t.__module__}.{t.__qualname__}"


def dump(environ, start_response):
    data = {k: v for k, v in environ.items() if _jsonable(v)}
    data["_types"] = {
        k: _typename(environ[k])
        for k in ("wsgi.input", "wsgi.errors", "wsgi.file_wrapper")
        if k in environ
    }
    # validator wraps input/errors; report the server's own objects too
    inner = getattr(environ.get("wsgi.input"), "input", None)
    if inner is not None:
        data["_types"]["wsgi.input.inner"] = _typename(inner)
    errors = getattr(environ.get("wsgi.errors"), "errors", None)
    if errors is not None:
        data["_types"]["wsgi.errors.inner"] = _typename(errors)
    data["_pid"] = os.getpid()
    data["_thread"] = threading.get_ident()
    body = json.dumps(data, sort_keys=True).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body))),
                              ("X-Request-Method", environ["REQUEST_METHOD"])])
    return [body]


application = validator(dump)
