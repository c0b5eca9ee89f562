# A small Flask application (routing, JSON, a Jinja template) that reports the
# application group and interpreter it runs in.
from flask import Flask, jsonify, render_template_string, request
from wsgiref.validate import validator

import mod_wsgi

try:
    try:
        import _interpreters  # Python 3.13+: get_current() is (id, whence)
    except ImportError:
        import _xxsubinterpreters as _interpreters

    def interpreter_id():
        current = _interpreters.get_current()
        return int(current[0] if isinstance(current, tuple) else current)
except Exception:  # pragma: no cover
    def interpreter_id():
        return None

app = Flask(__name__)


@app.route("/")
def index():
    return jsonify(group=mod_wsgi.application_group,
                   environ_group=request.environ.get("mod_wsgi.application_group"),
                   interpreter=interpreter_id(),
                   script_root=request.script_root)


@app.route("/hello/<name>")
def hello(name):
    return render_template_string("<h1>Hello, {{ name }}</h1>", name=name)


@app.route("/args")
def args():
    # (no request body here: wsgiref.validate refuses Werkzeug's read() of it)
    return jsonify(request.args.to_dict(flat=False))


application = validator(app)
