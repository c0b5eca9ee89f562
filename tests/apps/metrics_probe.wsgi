# Answers /status/NNN with that status, /process with this process's pid and
# mod_wsgi.process_metrics() request count, /boom by raising (tests/test_metrics_endpoint.py).
import json
import os
from wsgiref.validate import validator

import mod_wsgi

REASONS = {200: "OK", 201: "Created", 404: "Not Found", 503: "Service Unavailable"}


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path.startswith("/status/"):
        code = int(path.rsplit("/", 1)[1])
        body = b"status"
    elif path == "/process":
        code = 200
        metrics = mod_wsgi.process_metrics()
        body = json.dumps({"pid": os.getpid(), "request_count": metrics["request_count"]}).encode()
    elif path == "/boom":
        raise RuntimeError("boom")
    else:
        code, body = 200, b"ok"
    start_response(f"{code} {REASONS.get(code, 'Whatever')}",
                   [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


application = validator(app)
