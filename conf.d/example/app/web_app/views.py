from flask import render_template, request

from . import app

GREETING = "Welcome to the reporting app"


@app.route("/")
def index():
    return render_template("index.html", greeting=GREETING,
                           api_url=request.host_url.rstrip("/") + "/api/v1/items")


@app.route("/hello/<name>")
def hello(name):
    return render_template("index.html", greeting=f"Hello, {name}",
                           api_url=request.host_url.rstrip("/") + "/api/v1/items")
