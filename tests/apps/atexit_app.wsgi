# Registers an atexit handler when loaded; the handler writes
# <ServerRoot>/markers/atexit-<group>-<pid> (WSGIDestroyInterpreter On: it runs
# when the Apache child stops; Off: it never runs).
import atexit
import os
from wsgiref.validate import validator

import mod_wsgi

MARKERS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "markers")
GROUP = mod_wsgi.application_group or "GLOBAL"


def _at_exit(pid=os.getpid()):
    with open(os.path.join(MARKERS, f"atexit-{GROUP}-{pid}"), "w") as f:
        f.write("atexit ran\n")


atexit.register(_at_exit)


def app(environ, start_response):
    body = f"{os.getpid()} {GROUP}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


application = validator(app)
