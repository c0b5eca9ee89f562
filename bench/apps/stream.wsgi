# A streaming response: 100 chunks of 10 KB from a generator, no
# Content-Length (so HTTP/1.1 chunked encoding), 1,024,000 bytes in all.
CHUNK = b"s" * 10240
COUNT = 100


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/octet-stream")])

    def body():
        for _ in range(COUNT):
            yield CHUNK

    return body()
