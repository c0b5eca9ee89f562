"""A WSGIScriptAlias that can never match (an earlier, shorter one takes all
its URLs) is reported with both config lines, by `apache2 -t` and at start.
mod_wsgi silently routes /api/v1 to the `/` application in that case."""

import re

import requests

SHADOWED = """\
WSGIScriptAlias / @APPS@/hello.wsgi
WSGIScriptAlias /api/v1 @APPS@/environ.wsgi
"""

ORDERED = """\
WSGIScriptAlias /api/v1 @APPS@/environ.wsgi
WSGIScriptAlias / @APPS@/hello.wsgi
"""


def warning_lines(text):
    return [l for l in text.splitlines()
            if "WSGIScriptAlias" in l and re.search(r"warn|never", l, re.I)]


def check_warning(lines, srv):
    conf = str(srv.conf)
    root_line = srv.conf_line_of("WSGIScriptAlias / ")
    api_line = srv.conf_line_of("WSGIScriptAlias /api/v1")
    assert root_line < api_line
    assert lines, "no warning about the shadowed alias"
    line = lines[0]
    assert "/api/v1" in line, line
    assert conf in line, line
    assert re.search(rf"\bline {api_line}\b", line), (api_line, line)
    assert re.search(rf"\bline {root_line}\b", line), (root_line, line)


def test_configtest_warns_about_a_shadowed_alias(configtest):
    rc, out = configtest(SHADOWED)
    assert rc == 0, out  # a warning, not an error
    assert "Syntax OK" in out
    check_warning(warning_lines(out), configtest.last)


def test_error_log_warns_at_start(apache):
    srv = apache(SHADOWED)
    lines = warning_lines(srv.error_log())
    check_warning(lines, srv)
    assert "warn" in lines[0], lines[0]
    # and it is what happens: /api/v1 is served by the / application
    r = requests.get(srv.url("/api/v1/items"), timeout=30)
    assert (r.status_code, r.text) == (200, "Hello World!")


def test_longer_alias_first_gives_no_warning(configtest, apache):
    rc, out = configtest(ORDERED)
    assert rc == 0, out
    assert not warning_lines(out), out
    srv = apache(ORDERED)
    assert not warning_lines(srv.error_log()), srv.error_log_tail()
    r = requests.get(srv.url("/api/v1/items"), timeout=30)
    assert r.status_code == 200
    assert r.json()["SCRIPT_NAME"] == "/api/v1"
