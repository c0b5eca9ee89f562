# Sleeps (default 0.5 s, ?t=seconds) and returns the pid and thread id.
import os
import threading
import time
from urllib.parse import parse_qs
from wsgiref.validate import validator


def app(environ, start_response):
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    time.sleep(float(q.get("t", "0.5")))
    body = f"slept {os.getpid()} {threading.get_ident()}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


application = validator(app)
