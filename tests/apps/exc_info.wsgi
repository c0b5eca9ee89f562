# start_response(..., exc_info):
#   when=before  error handled before any output: the error response replaces
#                the first status (500 Oops + the app's own body)
#   when=after   output already sent: start_response re-raises the exception
import sys
from wsgiref.validate import validator


def app(environ, start_response):
    when = environ.get("QUERY_STRING", "").partition("when=")[2] or "before"
    start_response("200 OK", [("Content-Type", "text/plain")])
    if when == "before":
        try:
            raise RuntimeError("handled before output")
        except RuntimeError:
            start_response("500 Oops", [("Content-Type", "text/plain"),
                                        ("X-Error-Page", "app")], sys.exc_info())
        return [b"custom error page from the app"]

    def gen():
        yield b"partial output;"
        try:
            raise RuntimeError("exc_info after output marker-4e21")
        except RuntimeError:
            start_response("500 Oops", [("Content-Type", "text/plain")], sys.exc_info())
        yield b"must not be reached"

    return gen()


application = validator(app)
