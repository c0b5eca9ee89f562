# Raises an exception before or after output has started.
#   when=before   raise before start_response
#   when=after    yield one chunk, then raise from the iterable
#   when=write    write() a chunk, then raise from the callable
# Not wrapped in wsgiref.validate: the point is the exception.


class AppFailure(Exception):
    pass


def application(environ, start_response):
    when = environ.get("QUERY_STRING", "").partition("when=")[2] or "before"
    if when == "before":
        raise AppFailure("raised-before-output marker-5c1f")
    if when == "write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"first part written;")
        raise AppFailure("raised-after-write marker-77ab")
    start_response("200 OK", [("Content-Type", "text/plain")])

    def gen():
        yield b"first part;"
        raise AppFailure("raised-after-output marker-93de")

    return gen()
