# WSGIHandlerScript target: handle_request() serves every file whose Apache
# handler is the named one (tests/test_handlers.py), here by returning the
# file's content and what the environ says about the request.
import json
import os
from wsgiref.validate import validator

import mod_wsgi


def _handle(environ, start_response):
    filename = environ["SCRIPT_FILENAME"]
    with open(filename, encoding="utf-8") as f:
        content = f.read()
    data = {
        "content": content,
        "SCRIPT_FILENAME": filename,
        "SCRIPT_NAME": environ.get("SCRIPT_NAME"),
        "PATH_INFO": environ.get("PATH_INFO"),
        "handler_script": environ.get("mod_wsgi.handler_script"),
        "request_handler": environ.get("mod_wsgi.request_handler"),
        "group": mod_wsgi.application_group,
        "module": __name__,
        "pid": os.getpid(),
    }
    body = json.dumps(data).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


handle_request = validator(_handle)
