# One of two files served by `AddHandler wsgi-script .wsgi` (tests/test_handlers.py):
# each file is an application of its own.
import json
import os
from wsgiref.validate import validator

import mod_wsgi

NAME = "a"
calls = 0


def app(environ, start_response):
    global calls
    calls += 1
    data = {
        "name": NAME,
        "calls": calls,
        "module": __name__,
        "pid": os.getpid(),
        "group": mod_wsgi.application_group,
        "environ_group": environ.get("mod_wsgi.application_group"),
        "SCRIPT_NAME": environ.get("SCRIPT_NAME"),
        "PATH_INFO": environ.get("PATH_INFO"),
        "SCRIPT_FILENAME": environ.get("SCRIPT_FILENAME"),
        "handler": environ.get("mod_wsgi.request_handler"),
    }
    body = json.dumps(data).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


application = validator(app)
