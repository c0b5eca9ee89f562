# The callable is called `app_callable`, not `application`
# (served with callable-object=app_callable / WSGICallableObject).
from wsgiref.validate import validator


def _app(environ, start_response):
    body = b"called app_callable"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


app_callable = validator(_app)
