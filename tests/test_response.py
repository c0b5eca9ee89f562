"""The response side of PEP 3333: start_response, headers, body, close(),
WSGIErrorOverride and Location + 200 internal redirects; in embedded and
daemon mode."""

import json
import os
import re
import socket
import time
import uuid

import pytest
import requests

import harness

CONF = """\
WSGIScriptAlias /hello @APPS@/hello.wsgi
WSGIScriptAlias /env @APPS@/environ.wsgi
WSGIScriptAlias /write @APPS@/write.wsgi
WSGIScriptAlias /crlf @APPS@/crlf_header.wsgi
WSGIScriptAlias /bad @APPS@/bad_response.wsgi
WSGIScriptAlias /exc @APPS@/exc_info.wsgi
WSGIScriptAlias /close @APPS@/close_recorder.wsgi
WSGIScriptAlias /stream @APPS@/stream.wsgi
WSGIScriptAlias /cl @APPS@/content_length.wsgi
WSGIScriptAlias /head-on @APPS@/environ.wsgi
WSGIScriptAlias /head-off @APPS@/environ.wsgi
WSGIScriptAlias /head-deflate @APPS@/environ.wsgi
<Location /head-on>
    WSGIMapHEADToGET On
</Location>
<Location /head-off>
    WSGIMapHEADToGET Off
    SetOutputFilter DEFLATE
</Location>
<Location /head-deflate>
    SetOutputFilter DEFLATE
</Location>
WSGIScriptAlias /c @APPS@/contract.wsgi
WSGIScriptAlias /eo @APPS@/daemon_probe.wsgi
WSGIScriptAlias /noeo @APPS@/daemon_probe.wsgi
# both have error documents: only WSGIErrorOverride may make them replace the app's page
<LocationMatch "^/(no)?eo$">
    ErrorDocument 404 "custom error document 404"
    ErrorDocument 500 "custom error document 500"
</LocationMatch>
<Location /eo>
    WSGIErrorOverride On
</Location>
"""


@pytest.fixture(scope="module")
def srv(module_apache, mode):
    s = module_apache(harness.in_mode(CONF, mode), modules=["deflate", "filter"], start=False)
    (s.htdocs / "other.txt").write_text("the other page\n")
    (s.htdocs / "other.txt").chmod(0o644)
    s.start()
    # load the scripts once so timing-sensitive tests do not pay for it
    for path in ("/hello", "/stream?n=1", f"/close?dir={s.markers}&token=warmup"):
        requests.get(s.url(path), timeout=30)
    yield s
    s.cleanup()  # one Apache at a time: the other mode's starts next


def get(srv, path):
    """Keep-alive GET: an unfinished response must be signalled by framing
    (no terminating chunk) and a closed connection."""
    return harness.http_request(
        srv.port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", timeout=15)


def test_hello(srv):
    r = requests.get(srv.url("/hello"), timeout=30)
    assert r.status_code == 200
    assert r.text == "Hello World!"
    assert r.headers["Content-Type"] == "text/plain"
    assert r.headers["Content-Length"] == "12"


def test_keep_alive_connection_serves_several_requests(srv):
    with requests.Session() as s:
        for _ in range(5):
            assert s.get(srv.url("/hello"), timeout=30).text == "Hello World!"


@pytest.mark.parametrize("case", [
    "status_short", "status_int", "status_ctl", "header_space",
    "header_value_int", "headers_tuple", "header_not_pair", "body_str",
    "no_start_response",
])
def test_invalid_status_headers_or_body_give_500(srv, case):
    mark = srv.log_mark()
    r = get(srv, f"/bad?case={case}")
    assert r.status == 500, r
    assert b"body-after-" not in r.raw
    srv.wait_for_log(r"(Type|Value|Runtime)Error", mark)


def test_status_without_reason_phrase_is_accepted(srv):
    r = get(srv, "/bad?case=status_noreason")
    assert r.status_line.startswith("HTTP/1.1 299"), r
    assert r.body == b"body-after-status_noreason"


def test_second_start_response_before_output_replaces_the_first(srv):
    # PEP 3333 calls this an error without exc_info; mod_wsgi 6 lets the second call win
    # while nothing has been sent, and applications rely on it
    r = get(srv, "/bad?case=second_start_response")
    assert r.status == 202, r
    assert r.header("X-Second") == "yes"
    assert r.body == b"body-after-second_start_response"


def test_start_response_after_output_without_exc_info_is_an_error(srv):
    mark = srv.log_mark()
    r = get(srv, "/c/exc-info-after-output")
    assert r.body == b"already out "
    assert not r.complete and r.closed
    srv.wait_for_log(r"WSGI0174: .*ValueError exception raised processing WSGI script", mark)


def test_content_length_is_set_for_sequences(srv):
    # every byte is known before sending: the client gets the size, not chunks
    r = get(srv, "/c/tuple-body")
    assert (r.status, r.body, r.header("Content-Length")) == (200, b"ab", "2"), r
    assert r.header("Transfer-Encoding") is None


def test_repeated_headers_reach_the_client_as_sent(srv):
    r = get(srv, "/c/repeated-headers")
    assert r.headers["x-test"] == ["a", "b"], r.raw
    assert r.headers["set-cookie"] == ["a=1", "b=2"], r.raw


def test_latin1_header_value_is_sent_as_its_byte(srv):
    r = get(srv, "/c/latin1-header-value")
    assert b"\r\nX-Latin: caf\xe9\r\n" in r.raw, r.raw


def test_non_latin1_header_value_is_500_with_the_encode_error(srv):
    mark = srv.log_mark()
    r = get(srv, "/c/non-latin1-header-value")
    assert r.status == 500, r
    srv.wait_for_log(r"UnicodeEncodeError: 'latin-1' codec can't encode", mark)


@pytest.mark.parametrize("case, message", [
    ("headers-not-list", "TypeError: start_response() argument 2 must be list, not dict"),
    ("header-three-items", "ValueError: each header must be a 2-tuple, got length 3"),
    ("header-bytes-name", "TypeError: must be str, not bytes"),
    ("status-bytes", "TypeError: must be str, not bytes"),
    ("exc-info-not-tuple", "RuntimeError: start_response() argument 'exc_info' must be a 3-tuple or None"),
    ("content-length-bad", "ValueError: invalid Content-Length header value: 'abc'"),
    ("no-start-response", "RuntimeError: start_response() must be called before response content is produced"),
    ("str-body", "TypeError: response iterable must yield bytes, not str"),
])
def test_start_response_errors_read_as_mod_wsgis(srv, case, message):
    mark = srv.log_mark()
    r = get(srv, f"/c/{case}")
    assert r.status == 500, r
    srv.wait_for_log(re.escape(message), mark)


@pytest.mark.parametrize("where", ["value", "name", "lf"])
def test_crlf_in_header_gives_500_and_no_split_response(srv, where):
    mark = srv.log_mark()
    r = get(srv, f"/crlf?where={where}")
    assert r.status == 500, r
    raw = r.raw
    assert b"X-Injected" not in raw
    assert b"X-Smuggled" not in raw
    assert b"this body must not be sent" not in raw
    assert raw.count(b"HTTP/1.1 ") == 1
    srv.wait_for_log(r"ValueError|[Hh]eader", mark)


def test_write_callable(srv):
    assert requests.get(srv.url("/write"), timeout=30).text == \
        "written-1;written-2;returned-3;returned-4"
    assert requests.get(srv.url("/write?mode=only"), timeout=30).text == \
        "written-1;written-2;"


def wait_for_file(path, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                return f.read()
        time.sleep(0.05)
    raise AssertionError(f"{path} did not appear within {timeout}s")


@pytest.mark.parametrize("how,body", [
    ("normal", b"one;two;"),
    ("write", b"written;after-write"),
])
def test_close_is_called_after_a_complete_response(srv, how, body):
    token = uuid.uuid4().hex
    r = get(srv, f"/close?dir={srv.markers}&token={token}&mode={how}")
    assert r.status == 200 and r.complete
    assert r.body == body
    assert wait_for_file(srv.markers / f"{token}.closed").startswith("closed")


def test_close_is_called_when_the_iterable_raises(srv):
    token = uuid.uuid4().hex
    r = get(srv, f"/close?dir={srv.markers}&token={token}&mode=raise")
    assert r.status == 200
    assert not r.complete
    wait_for_file(srv.markers / f"{token}.closed")


def test_close_is_called_when_the_client_disconnects_mid_stream(srv):
    token = uuid.uuid4().hex
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    s.sendall(f"GET /close?dir={srv.markers}&token={token}&mode=stream HTTP/1.1\r\n"
              f"Host: 127.0.0.1\r\n\r\n".encode())
    got = b""
    while b"xxxx" not in got:
        b = s.recv(65536)
        assert b, got
        got += b
    s.close()  # the app would stream for another ~20 s
    text = wait_for_file(srv.markers / f"{token}.closed", timeout=10)
    sent = int(re.search(r"after (\d+) chunks", text).group(1))
    assert sent < 400, "iteration should stop once the client is gone"


def test_streaming_sends_each_chunk_as_it_is_produced(srv):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    t0 = time.monotonic()
    s.sendall(b"GET /stream?n=4&delay=1.0 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              b"Connection: close\r\n\r\n")
    seen = {}
    buf = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        buf += b
        now = time.monotonic() - t0
        for i in range(4):
            if f"chunk-{i}".encode() in buf and i not in seen:
                seen[i] = now
    s.close()
    assert sorted(seen) == [0, 1, 2, 3], buf
    assert seen[0] < 1.0, f"first chunk took {seen[0]:.2f}s: output is buffered"
    assert seen[3] - seen[0] > 2.5
    assert seen[1] < seen[2] < seen[3]


def test_content_length_truncates_extra_output(srv):
    for path in ("/cl", "/cl?mode=write", "/cl?mode=gen"):
        raw = srv.raw(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        status, headers, body = harness.parse_raw_response(raw)
        assert " 200 " in status
        assert headers["content-length"] == ["5"]
        assert body == b"Hello", (path, raw)
    # the connection stays usable: framing was right
    with requests.Session() as s:
        for _ in range(3):
            assert s.get(srv.url("/cl"), timeout=30).content == b"Hello"


def test_generator_failing_after_its_whole_body(srv):
    # The body the application declared is complete: the client gets all of it;
    # the failure is logged.
    mark = srv.log_mark()
    r = get(srv, "/cl?mode=gen_raise")
    assert r.status == 200
    assert r.body == b"Hello"
    srv.wait_for_log(r"marker-4e1d", mark)
    assert "Traceback" in srv.log_since(mark)


def test_short_body_closes_the_connection_instead_of_hanging(srv):
    # Content-Length: 100 but only 10 bytes: a keep-alive client would wait
    # forever for the rest; the server must close the connection and say why
    # (mod_wsgi left the client waiting: reference §10.4).
    mark = srv.log_mark()
    t0 = time.monotonic()
    r = get(srv, "/cl?mode=short")
    elapsed = time.monotonic() - t0
    assert r.status == 200
    assert r.body == b"only ten.."
    assert not r.complete and r.closed
    assert elapsed < 3, f"connection closed only after {elapsed:.1f}s (KeepAliveTimeout)"
    srv.wait_for_log(r"(?i)content-length", mark)


def head(srv, path):
    return harness.http_request(
        srv.port, f"HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")


def test_head_sends_no_body(srv):
    r = head(srv, "/hello")
    assert r.status == 200
    assert r.header("Content-Length") == "12"
    body = r.raw.partition(b"\r\n\r\n")[2]
    assert body == b""


def test_head_to_an_app_that_sends_headers_only(srv):
    # A HEAD-aware app declares the GET's Content-Length and returns no body:
    # that is a complete answer, and the connection stays usable.
    with socket.create_connection(("127.0.0.1", srv.port), timeout=15) as s:
        s.sendall(b"HEAD /cl?mode=head HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        r = harness.read_response(s, timeout=15, head=True)
        assert r.status == 200, r
        assert r.header("Content-Length") == "5"
        assert r.raw.partition(b"\r\n\r\n")[2] == b""
        s.sendall(b"GET /cl?mode=head HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        r = harness.read_response(s, timeout=15)
        assert (r.status, r.body) == (200, b"Hello"), r


@pytest.mark.parametrize("path,method", [
    ("/env", "HEAD"),            # Auto, no content filter: the app sees HEAD
    ("/head-on", "GET"),         # On: always GET
    ("/head-deflate", "GET"),    # Auto + DEFLATE output filter: GET
    ("/head-off", "HEAD"),       # Off: never mapped
])
def test_map_head_to_get(srv, path, method):
    r = head(srv, path)
    assert r.status == 200
    assert r.header("X-Request-Method") == method
    assert r.raw.partition(b"\r\n\r\n")[2] == b""


def test_exc_info_before_output_replaces_the_response(srv):
    r = get(srv, "/exc?when=before")
    assert r.status_line.startswith("HTTP/1.1 500 Oops"), r
    assert r.header("X-Error-Page") == "app"
    assert r.body == b"custom error page from the app"


def test_exc_info_after_output_reraises_and_truncates(srv):
    mark = srv.log_mark()
    r = get(srv, "/exc?when=after")
    assert r.status == 200
    assert r.body.startswith(b"partial output;")
    assert b"must not be reached" not in r.raw
    assert not r.complete and r.closed
    srv.wait_for_log("exc_info after output marker-4e21", mark)


# WSGIErrorOverride and the Location + 200 redirect are daemon-mode features of mod_wsgi 6:
# in embedded mode the application's own answer goes out (the differential suite checks
# that ours does the same as mod_wsgi there).

@pytest.mark.parametrize("code", [404, 500])
def test_error_override_sends_apaches_error_document(srv, code):
    if harness.mode_of(srv) == "embedded":
        r = get(srv, f"/eo?mode=status&code={code}")
        assert (r.status, r.body) == (code, b"body from the app"), r
        return
    r = get(srv, f"/eo?mode=status&code={code}")
    assert r.status == code
    assert r.body == f"custom error document {code}".encode(), r
    # without WSGIErrorOverride the application's own page
    r = get(srv, f"/noeo?mode=status&code={code}")
    assert (r.status, r.body) == (code, b"body from the app"), r


def test_error_override_keeps_answers_below_400(srv):
    r = get(srv, "/eo?mode=status&code=202")
    assert (r.status, r.body) == (202, b"body from the app"), r


def test_location_with_200_is_an_internal_redirect(srv):
    if harness.mode_of(srv) == "embedded":
        r = get(srv, "/noeo?mode=redirect&to=/other.txt")
        assert (r.status, r.header("Location")) == (200, "/other.txt"), r
        return
    r = get(srv, "/noeo?mode=redirect&to=/other.txt")
    assert r.status == 200, r
    assert r.body == b"the other page\n"
    assert r.header("Location") is None
    # to another WSGI application: it sees the redirect
    r = get(srv, "/noeo?mode=redirect&to=/env/target%3Fq")
    assert r.status == 200, r
    env = json.loads(r.body)
    assert env["PATH_INFO"] == "/target"
    assert env.get("REDIRECT_URL") == "/noeo"
