"""The web app (Flask): HTML pages from Jinja templates, static files."""

from flask import Flask

app = Flask(__name__)

from . import views  # noqa: E402,F401  (registers the routes)
