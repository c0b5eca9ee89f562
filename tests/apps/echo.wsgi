# Echoes the request body, read with the wsgi.input method chosen by the
# query string:
#   mode=read        read()            (no size)
#   mode=read_none   read(None)
#   mode=read_neg    read(-1)
#   mode=read_n&n=K  read(K) until b''
#   mode=readline    readline() until b''
#   mode=readline_n&n=K  readline(K) until b''
#   mode=readlines   readlines()
#   mode=iter        for line in wsgi.input
#   mode=exact       read(<= 64 KB) until CONTENT_LENGTH bytes came, never
#                    asking for the end of the body; answers the count only
#   mode=past_end    read(CONTENT_LENGTH), then three more reads that must
#                    return b'' at once (EOF is sticky, never blocks)
# The response is JSON: {"body": <latin-1 text>, "pieces": [sizes...],
# "extra": [...]} plus echo of CONTENT_LENGTH / HTTP_TRANSFER_ENCODING.
import json
import time
from urllib.parse import parse_qs
from wsgiref.validate import validator


def echo(environ, start_response):
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    mode = q.get("mode", "read")
    n = int(q.get("n", "1024"))
    wrapped = environ["wsgi.input"]
    raw = getattr(wrapped, "input", wrapped)  # validator insists on read(size)
    pieces = []
    extra = []
    if mode == "read":
        pieces = [raw.read()]
    elif mode == "read_none":
        pieces = [raw.read(None)]
    elif mode == "read_neg":
        pieces = [raw.read(-1)]
    elif mode == "read_n":
        while True:
            b = wrapped.read(n)
            if not b:
                break
            pieces.append(b)
    elif mode == "readline":
        while True:
            b = wrapped.readline()
            if not b:
                break
            pieces.append(b)
    elif mode == "readline_n":
        while True:
            b = wrapped.readline(n)
            if not b:
                break
            pieces.append(b)
    elif mode == "readlines":
        pieces = wrapped.readlines()
    elif mode == "iter":
        pieces = list(wrapped)
    elif mode == "exact":
        # read CONTENT_LENGTH bytes in 64 KB reads and answer at once with the count,
        # never reading the end
        left = total = int(environ.get("CONTENT_LENGTH") or 0)
        while left > 0:
            b = wrapped.read(min(65536, left))
            if not b:
                break
            left -= len(b)
        out = str(total - left).encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(out)))])
        return [out]
    elif mode == "past_end":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        pieces = [wrapped.read(length)]
        for call in (lambda: raw.read(100), lambda: raw.readline(), lambda: raw.read()):
            t0 = time.monotonic()
            b = call()
            extra.append([len(b), round(time.monotonic() - t0, 3)])
    else:
        raise ValueError(f"unknown mode {mode}")
    body = b"".join(pieces)
    result = {
        "body": body.decode("latin-1"),
        "length": len(body),
        "pieces": [len(p) for p in pieces],
        "lines": [p.decode("latin-1") for p in pieces] if "line" in mode or mode == "iter" else None,
        "extra": extra,
        "CONTENT_LENGTH": environ.get("CONTENT_LENGTH"),
        "HTTP_TRANSFER_ENCODING": environ.get("HTTP_TRANSFER_ENCODING"),
        "wsgi.input_terminated": environ.get("wsgi.input_terminated"),
    }
    out = json.dumps(result).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(out)))])
    return [out]


application = validator(echo)
