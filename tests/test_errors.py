"""Failing scripts and applications: status codes and what the log says;
in embedded and daemon mode."""

import re

import pytest
import requests

import harness

CONF = """\
WSGIScriptAlias /missing @APPS@/does_not_exist.wsgi
WSGIScriptAlias /syntax @APPS@/syntax_error.wsgi
WSGIScriptAlias /import @APPS@/import_error.wsgi
WSGIScriptAlias /noapp @APPS@/no_application.wsgi
WSGIScriptAlias /other-option @APPS@/callable_other.wsgi callable-object=app_callable
WSGIScriptAlias /other-directive @APPS@/callable_other.wsgi
<Location /other-directive>
    WSGICallableObject app_callable
</Location>
WSGIScriptAlias /raises @APPS@/raises.wsgi
WSGIScriptAlias /hello @APPS@/hello.wsgi
WSGIScriptAlias /c @APPS@/contract.wsgi
WSGIScriptAlias /dir/ @APPS@/
"""


@pytest.fixture(scope="module")
def srv(module_apache, mode):
    s = module_apache(harness.in_mode(CONF, mode))
    yield s
    s.cleanup()  # one Apache at a time: the other mode's starts next


def get(srv, path):
    return harness.http_request(
        srv.port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", timeout=15)


def test_missing_script_is_404_and_logged(srv):
    mark = srv.log_mark()
    assert get(srv, "/missing").status == 404
    srv.wait_for_log(r"does_not_exist\.wsgi", mark)


def test_syntax_error_is_500_with_traceback(srv):
    mark = srv.log_mark()
    for _ in range(2):  # stays an error, not cached as loaded
        assert get(srv, "/syntax").status == 500
    srv.wait_for_log(r"SyntaxError", mark)
    log = srv.log_since(mark)
    assert "syntax_error.wsgi" in log


def test_import_error_is_500_with_traceback(srv):
    mark = srv.log_mark()
    assert get(srv, "/import").status == 500
    srv.wait_for_log(r"mod_wsgi_rs_no_such_module_4711", mark)
    log = srv.log_since(mark)
    assert "Traceback" in log
    assert "ModuleNotFoundError" in log
    assert "import_error.wsgi" in log


def test_missing_application_is_404_and_logged(srv):
    mark = srv.log_mark()
    assert get(srv, "/noapp").status == 404
    srv.wait_for_log(r"no_application\.wsgi", mark)
    assert "application" in srv.log_since(mark)


@pytest.mark.parametrize("path", ["/other-option", "/other-directive"])
def test_callable_object_with_another_name(srv, path):
    r = requests.get(srv.url(path), timeout=30)
    assert r.status_code == 200
    assert r.text == "called app_callable"


def test_exception_before_output_is_500_with_traceback(srv):
    mark = srv.log_mark()
    r = get(srv, "/raises?when=before")
    assert r.status == 500
    srv.wait_for_log(r"raised-before-output marker-5c1f", mark)
    log = srv.log_since(mark)
    assert "Traceback (most recent call last)" in log
    assert 'raises.wsgi", line' in log  # the frame where it was raised
    assert "AppFailure" in log
    # mod_wsgi 6's header line, which log tooling looks for
    interp = ("main interpreter in embedded mode" if harness.mode_of(srv) == "embedded"
              else f"main interpreter of daemon process '{harness.DAEMON_POOL}'")
    assert re.search(rf"WSGI0174: \[script {re.escape(str(srv.apps))}/raises\.wsgi\] AppFailure "
                     rf"exception raised processing WSGI script '.*raises\.wsgi' for {interp}\.", log), log


def test_system_exit_is_logged_as_ignored(srv):
    mark = srv.log_mark()
    assert get(srv, "/c/system-exit").status == 500
    srv.wait_for_log(r"WSGI0175: \[script .*\] SystemExit exception raised by WSGI script "
                     r"'.*contract\.wsgi' for main interpreter .*; ignored\.", mark)
    assert get(srv, "/hello").status == 200


def test_request_timeout_raised_by_the_app_is_504_and_the_thread_recovers(srv):
    mark = srv.log_mark()
    r = get(srv, "/c/request-timeout")
    assert (r.status, r.body) == (504, b""), r
    srv.wait_for_log(r"\[wsgi:info\].*Request interrupted by RequestTimeout; thread recovered\.", mark)
    assert "Traceback" not in srv.log_since(mark)
    assert get(srv, "/hello").status == 200


@pytest.mark.parametrize("when,marker,first", [
    ("after", "raised-after-output marker-93de", b"first part;"),
    ("write", "raised-after-write marker-77ab", b"first part written;"),
])
def test_exception_after_output_closes_the_connection(srv, when, marker, first):
    mark = srv.log_mark()
    r = get(srv, f"/raises?when={when}")
    assert r.status == 200
    assert r.body.startswith(first)
    assert not r.complete, "a truncated body must not look complete"
    assert r.closed
    assert b"Internal Server Error" not in r.raw, "no error page appended to the body"
    srv.wait_for_log(marker, mark)
    assert "Traceback" in srv.log_since(mark)


def test_alias_to_a_directory(srv):
    r = requests.get(srv.url("/dir/hello.wsgi"), timeout=30)
    assert r.status_code == 200 and r.text == "Hello World!"
    assert get(srv, "/dir/nope.wsgi").status == 404
    assert get(srv, "/dir/").status in (403, 404)


def test_server_keeps_serving_after_errors(srv):
    for path in ("/syntax", "/import", "/raises?when=before", "/noapp"):
        get(srv, path)
    r = requests.get(srv.url("/hello"), timeout=30)
    assert r.status_code == 200 and r.text == "Hello World!"
