# A 1 MB (1048576-byte) response in one block, Content-Length set.
BODY = b"x" * (1024 * 1024)


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(len(BODY)))])
    return [BODY]
