# Declares Content-Length: 5 but returns more bytes: only 5 may be sent.
# Query: mode=iter (default; two items) | write | short (declares 100 bytes,
# streams 10, the headers go out before the end: the response cannot be
# completed) | gen (a generator: "Hel", "lo", then more) | gen_raise (a
# generator: "Hello", then it raises) | head (a HEAD-aware app: the GET's
# Content-Length: 5 and no body for HEAD, "Hello" for GET)
import time


def application(environ, start_response):
    if environ.get("QUERY_STRING") == "mode=head":
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", "5")])
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [b"Hello"]
    if environ.get("QUERY_STRING") == "mode=short":
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", "100")])

        def gen():
            yield b"only "
            time.sleep(0.3)
            yield b"ten.."

        return gen()
    write = start_response("200 OK", [("Content-Type", "text/plain"),
                                      ("Content-Length", "5")])
    if environ.get("QUERY_STRING") == "mode=gen":
        def gen():
            yield b"Hel"
            yield b"lo"
            yield b"EXTRA-FROM-GENERATOR"
        return gen()
    if environ.get("QUERY_STRING") == "mode=gen_raise":
        def gen_raise():
            yield b"Hello"
            raise RuntimeError("raised after the whole body marker-4e1d")
        return gen_raise()
    if environ.get("QUERY_STRING") == "mode=write":
        write(b"Hel")
        write(b"loEXTRA-WRITTEN")
        return [b"MORE"]
    return [b"HelloEXTRA", b"-MORE-DATA"]
