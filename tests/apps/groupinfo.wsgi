# Reports the application group it runs in (environ and the mod_wsgi module),
# which interpreter that is, and a call counter kept in a helper module
# (pylib/mwrs_counter.py, put on sys.path here) shared by every script of the
# same interpreter. Tests copy this file to get a second, distinct script.
import json
import os
import sys
from wsgiref.validate import validator

import mod_wsgi

PYLIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pylib")
if PYLIB not in sys.path:
    sys.path.insert(0, PYLIB)

import mwrs_counter  # noqa: E402

try:
    try:
        import _interpreters  # Python 3.13+: get_current() is (id, whence)
    except ImportError:
        import _xxsubinterpreters as _interpreters

    def _id(value):
        return int(value[0] if isinstance(value, tuple) else value)

    def interpreter_id():
        return _id(_interpreters.get_current())

    MAIN_ID = _id(_interpreters.get_main())
except Exception:  # pragma: no cover - the id is informative only
    def interpreter_id():
        return None

    MAIN_ID = None


def app(environ, start_response):
    data = {
        "environ_group": environ.get("mod_wsgi.application_group"),
        "module_group": mod_wsgi.application_group,
        "interpreter": interpreter_id(),
        "main_interpreter": MAIN_ID,
        "sys_id": id(sys),
        "calls": mwrs_counter.bump(),
        "counter_id": id(mwrs_counter),
        "pid": os.getpid(),
        "script": __name__,
        "file": __file__,
        "SCRIPT_NAME": environ.get("SCRIPT_NAME"),
        "PATH_INFO": environ.get("PATH_INFO"),
    }
    body = json.dumps(data).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


application = validator(app)
