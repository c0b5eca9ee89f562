"""Application output to the Apache error log (wsgi.errors, print, stderr);
in embedded and daemon mode."""

import re
import socket
import time
import uuid

import pytest

import harness

CONF = """\
WSGIScriptAlias /log @APPS@/logging_app.wsgi
WSGIScriptAlias /raises @APPS@/raises.wsgi
WSGIScriptAlias /c @APPS@/contract.wsgi
"""


@pytest.fixture(scope="module")
def srv(module_apache, mode):
    s = module_apache(harness.in_mode(CONF, mode))
    yield s
    s.cleanup()  # one Apache at a time: the other mode's starts next


def lines_with(srv, mark, token, count=1):
    srv.wait_for_log(re.escape(token), mark)
    # allow the rest of a multi-line write to arrive
    for _ in range(50):
        lines = [l for l in srv.log_since(mark).splitlines() if token in l]
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    return [l for l in srv.log_since(mark).splitlines() if token in l]


def get(srv, path):
    """(status, the client's port) of GET path, so log lines can be matched
    to the connection that caused them."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as s:
        port = s.getsockname()[1]
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  "Connection: close\r\n\r\n".encode())
        return harness.read_response(s).status, port


def assert_request_line(line, mode, port):
    # Apache tags a request's lines [client ip:port] in its own children and
    # [remote ip:port] in a daemon process (reference §2.5, as mod_wsgi does)
    tag = "client" if mode == "embedded" else "remote"
    assert "[wsgi:error]" in line, line
    assert f"[{tag} 127.0.0.1:{port}]" in line, line


@pytest.mark.parametrize("via,text", [
    ("errors", "wsgi.errors says"),
    ("print", "print says"),
    ("stderr", "stderr says"),
    ("logging", "WARNING logging says"),
])
def test_output_lands_in_the_error_log_with_client(srv, mode, via, text):
    token = uuid.uuid4().hex
    mark = srv.log_mark()
    status, port = get(srv, f"/log?via={via}&token={token}")
    assert status == 200
    (line,) = lines_with(srv, mark, token)
    assert f"{text} {token}" in line
    assert_request_line(line, mode, port)
    # as mod_wsgi 6 does: the line names the script that wrote it
    assert f"[script {srv.apps}/logging_app.wsgi] {text} {token}" in line, line


def test_wsgi_errors_buffer_and_context_manager(srv):
    # what code written for mod_wsgi 6's TextIOWrapper does with wsgi.errors
    mark = srv.log_mark()
    assert get(srv, "/c/errors-buffer")[0] == 200
    for text in ("bytes through .buffer", "a bytearray", "a memoryview", "buffer writelines"):
        srv.wait_for_log(re.escape(f"[script {srv.apps}/contract.wsgi] {text}"), mark)
    assert get(srv, "/c/errors-context-manager")[0] == 200
    srv.wait_for_log("inside a with block", mark)


def test_each_line_is_a_separate_log_entry(srv, mode):
    token = uuid.uuid4().hex
    mark = srv.log_mark()
    status, port = get(srv, f"/log?via=multiline&token={token}")
    assert status == 200
    lines = lines_with(srv, mark, token, count=3)
    assert len(lines) == 3, lines
    for n, line in enumerate(lines, 1):
        assert line.endswith(f"{token} line-{n}"), line
        assert_request_line(line, mode, port)


def test_traceback_lines_carry_the_client(srv, mode):
    mark = srv.log_mark()
    status, port = get(srv, "/raises?when=before")
    assert status == 500
    srv.wait_for_log("marker-5c1f", mark)
    lines = [l for l in srv.log_since(mark).splitlines()
             if "marker-5c1f" in l or "Traceback" in l]
    assert lines
    for line in lines:
        assert_request_line(line, mode, port)
