from . import app


@app.route("/")
def index():
    return "v1"
