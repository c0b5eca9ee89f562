# Reads the request body in 64 KB reads (bounded by CONTENT_LENGTH) and
# answers with the number of bytes read.
def application(environ, start_response):
    stream = environ["wsgi.input"]
    remaining = int(environ.get("CONTENT_LENGTH") or 0)
    total = 0
    while remaining > 0:
        data = stream.read(min(65536, remaining))
        if not data:
            break
        total += len(data)
        remaining -= len(data)
    body = str(total).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
