# Behaviours of the WSGI contract that applications and tooling can see, one
# per PATH_INFO, for the differential tests (tests/test_differential.py): the
# same request to our module and to mod_wsgi 6 must give the same answer.
# Deliberately not wrapped in wsgiref.validate: several cases break the
# contract on purpose to see what the server does about it.
import sys

TEXT = [("Content-Type", "text/plain")]


def _status_header_cases():
    def status_no_reason(environ, start_response):
        start_response("299", TEXT)
        return [b"no reason phrase"]

    def status_lowercase_reason(environ, start_response):
        start_response("200 fine thanks", TEXT)
        return [b"ok"]

    def status_999(environ, start_response):
        start_response("999 Odd", TEXT)
        return [b"odd"]

    def repeated_headers(environ, start_response):
        start_response("200 OK", TEXT + [("X-Test", "a"), ("X-Test", "b"),
                                         ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
        return [b"repeated"]

    def lowercase_header_names(environ, start_response):
        start_response("200 OK", [("content-type", "text/plain"), ("x-lower", "yes")])
        return [b"lower"]

    def empty_header_value(environ, start_response):
        start_response("200 OK", TEXT + [("X-Empty", "")])
        return [b"empty"]

    def latin1_header_value(environ, start_response):
        start_response("200 OK", TEXT + [("X-Latin", "caf\u00e9")])
        return [b"latin-1"]

    def non_latin1_header_value(environ, start_response):
        start_response("200 OK", TEXT + [("X-Euro", "\u20ac")])
        return [b"never"]

    def header_value_newline(environ, start_response):
        start_response("200 OK", TEXT + [("X-Split", "a\r\nX-Injected: 1")])
        return [b"never"]

    def header_name_colon(environ, start_response):
        start_response("200 OK", TEXT + [("X:Colon", "v")])
        return [b"never"]

    def header_bytes_name(environ, start_response):
        start_response("200 OK", TEXT + [(b"X-Bytes", "v")])
        return [b"never"]

    def headers_not_list(environ, start_response):
        start_response("200 OK", {"Content-Type": "text/plain"})
        return [b"never"]

    def header_three_items(environ, start_response):
        start_response("200 OK", TEXT + [("X-A", "1", "2")])
        return [b"never"]

    def status_bytes(environ, start_response):
        start_response(b"200 OK", TEXT)
        return [b"never"]

    def hop_by_hop_header(environ, start_response):
        start_response("200 OK", TEXT + [("Connection", "close")])
        return [b"hop"]

    def content_type_missing(environ, start_response):
        start_response("200 OK", [])
        return [b"no content type"]

    return locals()


def _start_response_cases():
    def second_call_before_output(environ, start_response):
        start_response("200 OK", TEXT)
        start_response("202 Accepted", TEXT + [("X-Second", "yes")])
        return [b"second"]

    def exc_info_before_output(environ, start_response):
        start_response("200 OK", TEXT)
        try:
            raise ValueError("replaced")
        except ValueError:
            start_response("500 Oops", TEXT + [("X-Exc", "yes")], sys.exc_info())
        return [b"replaced by exc_info"]

    def exc_info_after_output(environ, start_response):
        write = start_response("200 OK", TEXT)
        write(b"already out ")
        try:
            raise ValueError("too late")
        except ValueError:
            start_response("500 Oops", TEXT, sys.exc_info())
        return [b"never"]

    def exc_info_not_tuple(environ, start_response):
        start_response("200 OK", TEXT, "not a tuple")
        return [b"never"]

    def no_start_response(environ, start_response):
        return [b"never started"]

    def start_response_returns_write(environ, start_response):
        write = start_response("200 OK", TEXT)
        write(b"written, ")
        write(bytearray(b"bytearray, "))
        return [b"returned"]

    def write_str(environ, start_response):
        write = start_response("200 OK", TEXT)
        write("text")
        return [b"never"]

    return locals()


class _Closing:
    def __init__(self, items):
        self.items = items

    def __iter__(self):
        return iter(self.items)

    def close(self):
        sys.stderr.write("close() called\n")


def _body_cases():
    def empty_list(environ, start_response):
        start_response("200 OK", TEXT)
        return []

    def empty_items(environ, start_response):
        start_response("200 OK", TEXT)
        return [b"", b"a", b"", b"b"]

    def generator(environ, start_response):
        start_response("200 OK", TEXT)
        yield b"one "
        yield b"two"

    def generator_starts_late(environ, start_response):
        yield b""
        start_response("200 OK", TEXT)
        yield b"late start"

    def tuple_body(environ, start_response):
        start_response("200 OK", TEXT)
        return (b"a", b"b")

    def bytes_body(environ, start_response):
        # bytes is iterable of ints: a common mistake
        start_response("200 OK", TEXT)
        return b"abc"

    def str_body(environ, start_response):
        start_response("200 OK", TEXT)
        return ["text, not bytes"]

    def second_item_str(environ, start_response):
        start_response("200 OK", TEXT)
        return [b"first item ", "second item is str"]

    def closing_iterable(environ, start_response):
        start_response("200 OK", TEXT)
        return _Closing([b"closed"])

    def content_length_short(environ, start_response):
        start_response("200 OK", TEXT + [("Content-Length", "20")])
        return [b"only ten b"]

    def content_length_long(environ, start_response):
        start_response("200 OK", TEXT + [("Content-Length", "5")])
        return [b"longer than five"]

    def content_length_bad(environ, start_response):
        start_response("200 OK", TEXT + [("Content-Length", "abc")])
        return [b"bad length"]

    def head_style_no_body(environ, start_response):
        # what Werkzeug answers to HEAD: the GET's Content-Length, no body
        start_response("200 OK", TEXT + [("Content-Length", "389")])
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [b"x" * 389]

    def not_modified(environ, start_response):
        start_response("304 Not Modified", [("ETag", '"v1"'), ("Content-Length", "42")])
        return []

    def no_content(environ, start_response):
        start_response("204 No Content", [])
        return []

    def no_content_with_body(environ, start_response):
        start_response("204 No Content", TEXT)
        return [b"a body a 204 must not have"]

    return locals()


def _exception_cases():
    def raise_before_start(environ, start_response):
        raise RuntimeError("raised before start_response")

    def raise_after_start(environ, start_response):
        start_response("200 OK", TEXT)
        raise RuntimeError("raised after start_response, before output")

    def raise_in_generator(environ, start_response):
        start_response("200 OK", TEXT)
        yield b"partial "
        raise RuntimeError("raised mid-body")

    def system_exit(environ, start_response):
        raise SystemExit(3)

    def keyboard_interrupt(environ, start_response):
        raise KeyboardInterrupt()

    def raise_in_close(environ, start_response):
        class Body:
            def __iter__(self):
                return iter([b"body then close raises"])

            def close(self):
                raise RuntimeError("raised in close()")
        start_response("200 OK", TEXT)
        return Body()

    def request_timeout(environ, start_response):
        import mod_wsgi
        raise mod_wsgi.RequestTimeout("gave up")

    return locals()


def _errors_cases():
    def errors_write(environ, start_response):
        errors = environ["wsgi.errors"]
        errors.write("a line to wsgi.errors\n")
        errors.writelines(["two ", "pieces\n", "and a third line\n"])
        errors.write("no newline at the end")
        errors.flush()
        start_response("200 OK", TEXT)
        return [b"logged"]

    def errors_buffer(environ, start_response):
        errors = environ["wsgi.errors"]
        errors.buffer.write(b"bytes through .buffer\n")
        errors.buffer.write(bytearray(b"a bytearray\n"))
        errors.buffer.write(memoryview(b"a memoryview\n"))
        errors.buffer.writelines([b"buffer ", b"writelines\n"])
        errors.flush()
        start_response("200 OK", TEXT)
        return [b"buffered"]

    def errors_context_manager(environ, start_response):
        with environ["wsgi.errors"] as errors:
            errors.write("inside a with block\n")
        start_response("200 OK", TEXT)
        return [b"with"]

    def errors_attributes(environ, start_response):
        errors = environ["wsgi.errors"]
        seen = [type(errors).__name__, str(getattr(errors, "encoding", None)),
                str(getattr(errors, "errors", None)), str(errors.isatty()),
                str(hasattr(errors, "buffer")), str(hasattr(errors, "fileno"))]
        start_response("200 OK", TEXT)
        return [" ".join(seen).encode()]

    def errors_write_bytes(environ, start_response):
        environ["wsgi.errors"].write(b"bytes to a text stream\n")
        start_response("200 OK", TEXT)
        return [b"never"]

    def print_stdout(environ, start_response):
        print("printed to stdout")
        sys.stdout.flush()
        start_response("200 OK", TEXT)
        return [b"printed"]

    def print_stderr(environ, start_response):
        print("printed to stderr", file=sys.stderr)
        sys.stderr.flush()
        start_response("200 OK", TEXT)
        return [b"printed"]

    def stdin_read(environ, start_response):
        try:
            data = repr(sys.stdin.read(1))
        except Exception as e:  # noqa: BLE001 - what is raised is the answer
            data = f"{type(e).__name__}: {e}"
        start_response("200 OK", TEXT)
        return [data.encode()]

    return locals()


def _input_cases():
    def input_read(environ, start_response):
        body = environ["wsgi.input"].read()
        start_response("200 OK", TEXT)
        return [repr(body).encode()]

    def input_read_sized(environ, start_response):
        stream = environ["wsgi.input"]
        parts = [stream.read(3), stream.read(0), stream.read(4), stream.read(), stream.read()]
        start_response("200 OK", TEXT)
        return [repr(parts).encode()]

    def input_read_negative(environ, start_response):
        body = environ["wsgi.input"].read(-1)
        start_response("200 OK", TEXT)
        return [repr(body).encode()]

    def input_readline(environ, start_response):
        stream = environ["wsgi.input"]
        parts = [stream.readline(), stream.readline(2), stream.readline(), stream.readline()]
        start_response("200 OK", TEXT)
        return [repr(parts).encode()]

    def input_readlines(environ, start_response):
        body = environ["wsgi.input"].readlines()
        start_response("200 OK", TEXT)
        return [repr(body).encode()]

    def input_iterate(environ, start_response):
        body = list(environ["wsgi.input"])
        start_response("200 OK", TEXT)
        return [repr(body).encode()]

    def input_past_content_length(environ, start_response):
        stream = environ["wsgi.input"]
        parts = [stream.read(int(environ.get("CONTENT_LENGTH") or 0) + 10), stream.read(5)]
        start_response("200 OK", TEXT)
        return [repr(parts).encode()]

    def input_attributes(environ, start_response):
        stream = environ["wsgi.input"]
        seen = [type(stream).__name__] + [
            f"{name}={hasattr(stream, name)}"
            for name in ("read", "readline", "readlines", "__iter__", "close", "fileno",
                         "seek", "tell")]
        start_response("200 OK", TEXT)
        return [" ".join(seen).encode()]

    return locals()


def _file_wrapper_cases():
    def file_wrapper_file(environ, start_response):
        start_response("200 OK", TEXT)
        return environ["wsgi.file_wrapper"](open(__file__, "rb"), 4096)

    def file_wrapper_bytesio(environ, start_response):
        import io
        start_response("200 OK", TEXT)
        return environ["wsgi.file_wrapper"](io.BytesIO(b"from a BytesIO " * 10), 7)

    def file_wrapper_with_length(environ, start_response):
        data = open(__file__, "rb").read()[:100]
        start_response("200 OK", TEXT + [("Content-Length", str(len(data)))])
        return environ["wsgi.file_wrapper"](open(__file__, "rb"))

    def file_wrapper_seeked(environ, start_response):
        f = open(__file__, "rb")
        f.seek(50)
        start_response("200 OK", TEXT)
        return environ["wsgi.file_wrapper"](f)

    return locals()


CASES = {}
for _group in (_status_header_cases, _start_response_cases, _body_cases,
               _exception_cases, _errors_cases, _input_cases, _file_wrapper_cases):
    CASES.update({name.replace("_", "-"): fn for name, fn in _group().items()})


def application(environ, start_response):
    name = environ.get("PATH_INFO", "").strip("/")
    case = CASES.get(name)
    if case is None:
        start_response("404 Not Found", TEXT)
        return [f"no case {name!r}; cases: {' '.join(sorted(CASES))}".encode()]
    return case(environ, start_response)
