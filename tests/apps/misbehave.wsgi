# Applications that break things on purpose, chosen by PATH_INFO (tests/test_reliability.py).
import os


def application(environ, start_response):
    what = environ.get("PATH_INFO", "").strip("/")
    if what == "exit":
        # kills the process serving it: a request that must not be replayed onto every
        # replacement process
        os._exit(1)
    if what == "hog":
        # far past any memory-limit= of its pool: MemoryError, a 500, and the process lives on
        hoard = bytearray(2 << 30)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"%d" % len(hoard)]
    if what == "too-long":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
        return [b"0123456789"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"fine"]
