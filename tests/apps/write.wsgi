# Uses the write() callable returned by start_response, then returns more
# data from the iterable. Query: mode=mixed (default) | only
from wsgiref.validate import validator


def app(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"written-1;")
    write(b"written-2;")
    if environ.get("QUERY_STRING") == "mode=only":
        return []
    return [b"returned-3;", b"returned-4"]


application = validator(app)
