# wsgi.file_wrapper over:
#   mode=file      a real file (open(..., 'rb'))
#   mode=seek      a real file whose position was moved with seek(offset)
#   mode=bytesio   an io.BytesIO (no fileno: generic iteration fallback)
#   mode=closecheck  a real file whose close() writes <dir>/<token>.closed
#   mode=cl        a real file with an explicit Content-Length (first `length` bytes)
# Query: path=<file>&offset=N&length=N&dir=...&token=...
# Not wrapped in wsgiref.validate: its iterator wrapper would hide the
# file_wrapper object from the server (no fast path).
import io
import os
from urllib.parse import parse_qs


class RecordingFile(io.FileIO):
    marker = None

    def close(self):
        if not self.closed and self.marker:
            with open(self.marker, "w") as f:
                f.write("closed\n")
        super().close()


def application(environ, start_response):
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    mode = q.get("mode", "file")
    headers = [("Content-Type", "application/octet-stream")]
    if mode == "bytesio":
        data = open(q["path"], "rb").read()
        f = io.BytesIO(data)
    elif mode == "closecheck":
        f = RecordingFile(q["path"], "rb")
        f.marker = os.path.join(q["dir"], q["token"] + ".closed")
    else:
        f = open(q["path"], "rb")
        if mode == "seek":
            f.seek(int(q["offset"]))
        elif mode == "cl":
            headers.append(("Content-Length", q["length"]))
    start_response("200 OK", headers)
    return environ["wsgi.file_wrapper"](f, 32768)

