"""A Flask application as a package (tests/test_reload_submodules.py): the
routes live in the submodule views.py, which the test edits."""
import os
import time

from flask import Flask, request

app = Flask(__name__)


@app.before_request
def _maybe_sleep():
    # ?sleep=s keeps a worker busy, so concurrent requests spread over children
    t = request.args.get("sleep")
    if t:
        time.sleep(float(t))


@app.after_request
def _pid(response):
    response.headers["X-Pid"] = str(os.getpid())
    return response


from . import views  # noqa: E402,F401
