# Hello world (the wrk load target).
from wsgiref.validate import validator


def hello(environ, start_response):
    body = b"Hello World!"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


application = validator(hello)
