"""Application output to the Apache error log (wsgi.errors, print, stderr)."""

import re
import time
import uuid

import pytest
import requests

CONF = """\
WSGIScriptAlias /log @APPS@/logging_app.wsgi
WSGIScriptAlias /raises @APPS@/raises.wsgi
"""


@pytest.fixture(scope="module")
def srv(module_apache):
    return module_apache(CONF)


def lines_with(srv, mark, token, count=1):
    srv.wait_for_log(re.escape(token), mark)
    # allow the rest of a multi-line write to arrive
    for _ in range(50):
        lines = [l for l in srv.log_since(mark).splitlines() if token in l]
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    return [l for l in srv.log_since(mark).splitlines() if token in l]


def assert_request_line(line):
    assert "[wsgi:error]" in line, line
    assert "[client 127.0.0.1:" in line, line


@pytest.mark.parametrize("via,text", [
    ("errors", "wsgi.errors says"),
    ("print", "print says"),
    ("stderr", "stderr says"),
    ("logging", "WARNING logging says"),
])
def test_output_lands_in_the_error_log_with_client(srv, via, text):
    token = uuid.uuid4().hex
    mark = srv.log_mark()
    r = requests.get(srv.url(f"/log?via={via}&token={token}"), timeout=30)
    assert r.status_code == 200
    (line,) = lines_with(srv, mark, token)
    assert f"{text} {token}" in line
    assert_request_line(line)


def test_each_line_is_a_separate_log_entry(srv):
    token = uuid.uuid4().hex
    mark = srv.log_mark()
    assert requests.get(srv.url(f"/log?via=multiline&token={token}"), timeout=30).ok
    lines = lines_with(srv, mark, token, count=3)
    assert len(lines) == 3, lines
    for n, line in enumerate(lines, 1):
        assert line.endswith(f"{token} line-{n}"), line
        assert_request_line(line)


def test_traceback_lines_carry_the_client(srv):
    mark = srv.log_mark()
    assert requests.get(srv.url("/raises?when=before"), timeout=30).status_code == 500
    srv.wait_for_log("marker-5c1f", mark)
    lines = [l for l in srv.log_since(mark).splitlines()
             if "marker-5c1f" in l or "Traceback" in l]
    assert lines
    for line in lines:
        assert "[wsgi:error]" in line, line
        assert "[client 127.0.0.1:" in line, line
