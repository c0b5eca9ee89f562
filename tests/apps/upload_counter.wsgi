# Counts the request body in 64 KB reads without keeping it; returns
# "<total bytes> <number of reads> <max RSS kB of this process>".
import resource
from wsgiref.validate import validator


def app(environ, start_response):
    stream = environ["wsgi.input"]
    total = 0
    reads = 0
    while True:
        b = stream.read(65536)
        if not b:
            break
        total += len(b)
        reads += 1
    body = f"{total} {reads} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


application = validator(app)
