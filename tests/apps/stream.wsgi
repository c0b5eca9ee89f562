# Streams `n` chunks "chunk-<i>\n" (padded to `size` bytes), sleeping `delay`
# seconds between them, so a client can see the first chunk long before the
# last one is produced. Query: n=5&delay=0.5&size=64
import time
from urllib.parse import parse_qs
from wsgiref.validate import validator


def stream(environ, start_response):
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    n = int(q.get("n", "5"))
    delay = float(q.get("delay", "0.5"))
    size = int(q.get("size", "64"))
    start_response("200 OK", [("Content-Type", "text/plain")])

    def gen():
        for i in range(n):
            if i:
                time.sleep(delay)
            line = f"chunk-{i}".encode()
            yield line + b"." * max(0, size - len(line) - 1) + b"\n"

    return gen()


application = validator(stream)
