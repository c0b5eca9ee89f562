# Reports what the interpreter settings did to this interpreter: sys.path,
# restricted sys.stdin / sys.stdout (?op=stdin, ?op=stdout), signal.signal
# (?op=signal), the switch interval, PYTHON_EGG_CACHE, apache.request_rec, and
# the state left by import_probe.py (WSGIImportScript) in this interpreter.
import json
import os
import signal
import sys
from urllib.parse import parse_qs
from wsgiref.validate import validator

import mod_wsgi

PYLIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pylib")
if PYLIB not in sys.path:
    sys.path.append(PYLIB)  # at the end: tests look at the front of sys.path

import mwrs_state  # noqa: E402


def _try(fn):
    try:
        return {"ok": True, "value": fn()}
    except Exception as e:
        return {"ok": False, "error": f"{type(e).__name__}: {e}"}


def _handler(signum, frame):
    pass


def _signal():
    before = signal.getsignal(signal.SIGUSR1)
    returned = signal.signal(signal.SIGUSR1, _handler)
    installed = signal.getsignal(signal.SIGUSR1) is _handler
    if installed and before is not None:
        signal.signal(signal.SIGUSR1, before)
    return {"returned_handler": returned is _handler, "installed": installed}


def app(environ, start_response):
    ops = parse_qs(environ.get("QUERY_STRING", "")).get("op", [])
    capsule = environ.get("apache.request_rec")
    data = {
        "group": mod_wsgi.application_group,
        "environ_group": environ.get("mod_wsgi.application_group"),
        "pid": os.getpid(),
        "path": list(sys.path),
        "switch_interval": sys.getswitchinterval(),
        "egg_cache": os.environ.get("PYTHON_EGG_CACHE"),
        "has_request_rec": "apache.request_rec" in environ,
        "request_rec_type": type(capsule).__name__ if capsule is not None else None,
        "state": mwrs_state.snapshot(),
    }
    if "stdin" in ops:
        data["stdin"] = _try(lambda: sys.stdin.read(0))
    if "stdout" in ops:
        data["stdout"] = _try(lambda: print("interp_probe: a line on stdout", flush=True))
    if "signal" in ops:
        data["signal"] = _try(_signal)
    body = json.dumps(data).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


application = validator(app)
