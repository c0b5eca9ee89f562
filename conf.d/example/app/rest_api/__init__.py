"""A small JSON REST API (Flask), mounted at /api/v1."""

import base64

from flask import Flask, abort, jsonify, request

app = Flask(__name__)

ITEMS = [
    {"id": 1, "name": "widget", "price": 2.5},
    {"id": 2, "name": "gadget", "price": 10.0},
    {"id": 3, "name": "doohickey", "price": 0.75},
]


@app.get("/")
def index():
    return jsonify(service="rest_api", version=1,
                   endpoints=[request.script_root + "/items",
                              request.script_root + "/whoami"])


@app.get("/items")
def list_items():
    return jsonify(items=ITEMS)


@app.get("/items/<int:item_id>")
def get_item(item_id):
    for item in ITEMS:
        if item["id"] == item_id:
            return jsonify(item)
    abort(404)


@app.get("/whoami")
def whoami():
    """Echo the credentials the app received (needs WSGIPassAuthorization On)."""
    header = request.headers.get("Authorization")
    user = None
    if header and header.startswith("Basic "):
        try:
            user = base64.b64decode(header[6:]).decode("utf-8").split(":", 1)[0]
        except ValueError:
            user = None
    return jsonify(authorization=header, user=user)


@app.errorhandler(404)
def not_found(error):
    return jsonify(error="not found", path=request.path), 404
