# Reload-under-load target (tests/test_daemon_reload.py): answers
# "version=<mwrs_dver.VERSION> pid=<pid>". The test rewrites mwrs_dver.py
# (a module next to this script) and touches this file.
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import mwrs_dver  # noqa: E402


def application(environ, start_response):
    body = f"version={mwrs_dver.VERSION} pid={os.getpid()}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
