# Records close() of the returned iterable by writing a marker file
# <markers>/<token>.closed (the markers dir is passed as ?dir=).
#   mode=normal   two chunks
#   mode=raise    raises from the iterable after one chunk
#   mode=stream   400 chunks, 0.05 s apart (client disconnects mid-stream)
#   mode=write    uses write() and returns an iterable with close()
import os
import time
from urllib.parse import parse_qs


class Recorder:
    def __init__(self, path, chunks, delay=0.0, fail=False):
        self.path = path
        self.chunks = chunks
        self.delay = delay
        self.fail = fail
        self.sent = 0

    def __iter__(self):
        for i, c in enumerate(self.chunks):
            if i and self.delay:
                time.sleep(self.delay)
            self.sent += 1
            yield c
            if self.fail:
                raise RuntimeError("failing iterable marker-c10s")

    def close(self):
        with open(self.path + ".tmp", "w") as f:
            f.write(f"closed after {self.sent} chunks\n")
        os.rename(self.path + ".tmp", self.path)


def application(environ, start_response):
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    path = os.path.join(q["dir"], q["token"] + ".closed")
    mode = q.get("mode", "normal")
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    if mode == "raise":
        return Recorder(path, [b"one;", b"two;"], fail=True)
    if mode == "stream":
        return Recorder(path, [b"x" * 1024 + b"\n"] * 400, delay=0.05)
    if mode == "write":
        write(b"written;")
        return Recorder(path, [b"after-write"])
    return Recorder(path, [b"one;", b"two;"])
