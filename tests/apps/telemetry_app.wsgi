# Answers with the status in ?s= (default 200) and this process's pid, after sleeping
# ?sleep= seconds; ?raise=1 raises before start_response (a 500 from the module); ?api=1
# answers [request_metrics(), process_metrics()] as JSON; ?gc=1 runs a full collection first.
import gc
import json
import os
import time

import mod_wsgi
from urllib.parse import parse_qs


def application(environ, start_response):
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    if q.get("api"):
        mod_wsgi.start_recording_metrics()
        body = json.dumps([mod_wsgi.request_metrics(), mod_wsgi.process_metrics()]).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    if q.get("gc"):
        gc.collect()
    if q.get("raise"):
        raise RuntimeError("telemetry_app asked to fail")
    time.sleep(float(q.get("sleep", "0")))
    status = int(q.get("s", "200"))
    body = str(os.getpid()).encode()
    start_response(f"{status} X", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
