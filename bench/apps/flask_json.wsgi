# A Flask JSON endpoint: GET /flask/items returns 20 items, built per request.
from flask import Flask, jsonify

app = Flask(__name__)


@app.route("/items")
def items():
    return jsonify(count=20, items=[
        {"id": i, "name": f"item-{i}", "price": round(9.99 + i * 1.25, 2),
         "tags": ["bench", f"t{i % 3}"], "in_stock": i % 2 == 0}
        for i in range(20)
    ])


application = app
