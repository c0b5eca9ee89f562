"""The WSGI environ an application receives (reference §2.2, §3); in embedded
and daemon mode."""

import json

import pytest
import requests

import harness

ENVIRON_CONF = """\
WSGIScriptAlias /emb/t @APPS@/environ.wsgi
WSGIScriptAlias /slash/ @APPS@/environ.wsgi
WSGIScriptAliasMatch ^/keep/(.*) @APPS@/environ.wsgi/$1
WSGIScriptAliasMatch ^/match/([^/]+) @APPS@/$1.wsgi
WSGIScriptAlias /auth-option @APPS@/environ.wsgi pass-authorization=On
WSGIScriptAlias /auth-dir @APPS@/environ.wsgi
<Location /auth-dir>
    WSGIPassAuthorization On
</Location>
SetEnv MOD_WSGI_RS_SETENV from-setenv
"""


@pytest.fixture(scope="module")
def srv(module_apache, mode):
    s = module_apache(harness.in_mode(ENVIRON_CONF, mode), modules=["env"])
    yield s
    s.cleanup()  # one Apache at a time: the other mode's starts next


@pytest.fixture(scope="module")
def root_srv(module_apache, mode):
    """The application mounted at / (SCRIPT_NAME is empty)."""
    s = module_apache(harness.in_mode("WSGIScriptAlias / @APPS@/environ.wsgi\n", mode))
    yield s
    s.cleanup()


def get_env(srv, path, **kw):
    r = requests.get(srv.url(path), timeout=30, **kw)
    assert r.status_code == 200, (path, r.status_code, r.text[:500])
    return r.json()


def raw_env(srv, request_text):
    raw = srv.raw(request_text)
    status, headers, body = harness.parse_raw_response(raw)
    assert " 200 " in status, raw[:1000]
    return json.loads(body)


def test_cgi_variables(srv):
    env = get_env(srv, "/emb/t/extra/path?a=env&x=1")
    assert env["REQUEST_METHOD"] == "GET"
    assert env["SCRIPT_NAME"] == "/emb/t"
    assert env["PATH_INFO"] == "/extra/path"
    assert env["QUERY_STRING"] == "a=env&x=1"
    assert env["REQUEST_URI"] == "/emb/t/extra/path?a=env&x=1"
    assert env["REQUEST_SCHEME"] == "http"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["SERVER_NAME"] == "127.0.0.1"
    assert env["SERVER_PORT"] == str(srv.port)
    assert env["SERVER_ADDR"] == "127.0.0.1"
    assert env["SERVER_SOFTWARE"].startswith("Apache/2.4")
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["REMOTE_PORT"].isdigit()
    assert env["HTTP_HOST"] == f"127.0.0.1:{srv.port}"
    assert env["DOCUMENT_ROOT"] == str(srv.htdocs)
    assert env["SCRIPT_FILENAME"] == str(srv.apps / "environ.wsgi")
    assert "CONTEXT_DOCUMENT_ROOT" in env
    assert "CONTEXT_PREFIX" in env
    for absent in ("PATH", "HTTPS", "HTTP_AUTHORIZATION", "CONTENT_LENGTH", "CONTENT_TYPE"):
        assert absent not in env, absent


def test_wsgi_variables(srv):
    env = get_env(srv, "/emb/t")
    assert env["wsgi.version"] == [1, 0]
    assert env["wsgi.url_scheme"] == "http"
    assert env["wsgi.run_once"] is False
    assert env["wsgi.input_terminated"] is True
    # embedded: the event MPM runs several threads in several processes;
    # daemon: threads=15, and processes= is given (even =1 that means True)
    assert env["wsgi.multithread"] is True
    assert env["wsgi.multiprocess"] is True
    assert "wsgi.input.inner" in env["_types"]
    assert "wsgi.errors.inner" in env["_types"]
    assert "wsgi.file_wrapper" in env["_types"]


def test_mod_wsgi_variables(srv, mode):
    env = get_env(srv, "/emb/t/p?q=1")
    assert env["mod_wsgi.process_group"] == ("" if mode == "embedded" else harness.DAEMON_POOL)
    assert env["mod_wsgi.application_group"] == ""  # WSGIApplicationGroup %{GLOBAL}
    assert env["mod_wsgi.callable_object"] == "application"
    assert env["mod_wsgi.request_handler"] == "wsgi-script"
    assert env["mod_wsgi.handler_script"] == ""
    assert env["mod_wsgi.script_name"] == "/emb/t"
    assert env["mod_wsgi.path_info"] == "/p"
    assert env["mod_wsgi.listener_host"] == "127.0.0.1"
    assert env["mod_wsgi.listener_port"] == str(srv.port)
    # the Apache child that ran the request: in embedded mode this process (in
    # daemon mode the proxying child: test_daemon_wsgi.py)
    if mode == "embedded":
        assert env["mod_wsgi.server_pid"] == str(env["_pid"])
    assert int(env["mod_wsgi.server_pid"]) != srv.parent_pid
    assert isinstance(env["mod_wsgi.request_id"], str) and env["mod_wsgi.request_id"]
    assert isinstance(env["mod_wsgi.thread_id"], int)
    for key in ("mod_wsgi.request_start", "mod_wsgi.application_start"):
        assert isinstance(env[key], float), key
    assert env["mod_wsgi.application_start"] >= env["mod_wsgi.request_start"] > 1e9
    assert env["mod_wsgi.version"][0] >= 1
    assert env["apache.version"][:2] == [2, 4]


@pytest.mark.parametrize("path,script_name,path_info", [
    ("/emb/t", "/emb/t", ""),
    ("/emb/t/", "/emb/t", "/"),
    ("/emb/t/a/b", "/emb/t", "/a/b"),
    ("/emb/t//a//b", "/emb/t", "/a/b"),
    ("/emb/t/a%20b%3F", "/emb/t", "/a b?"),
    ("/slash/", "/slash/", ""),
    ("/keep/foo/bar", "/keep", "/foo/bar"),
    ("/match/environ/x/y", "/match/environ", "/x/y"),
])
def test_script_name_and_path_info_split(srv, path, script_name, path_info):
    env = raw_env(srv, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == (script_name, path_info)
    assert env["REQUEST_URI"] == path  # raw, not collapsed or decoded


@pytest.mark.parametrize("path", [
    "/emb/tx",          # no segment boundary after the alias
    "/slash",           # alias ends with '/'
    "/slash/x",         # -> file environ.wsgix
    "/emb/t/a%2Fb",     # encoded slash refused by Apache core
    "/match/nosuchscript/x",
])
def test_unmatched_paths_are_not_found(srv, path):
    raw = srv.raw(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 404 "), raw[:300]


@pytest.mark.parametrize("path,path_info", [
    ("/", "/"),
    ("/a/b", "/a/b"),
    ("/a//b", "/a/b"),
    ("/dir/", "/dir/"),
    ("/x%20y", "/x y"),
])
def test_mount_at_root(root_srv, path, path_info):
    env = raw_env(root_srv, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert env["SCRIPT_NAME"] == ""
    assert env["PATH_INFO"] == path_info


def test_query_string(srv):
    assert get_env(srv, "/emb/t")["QUERY_STRING"] == ""
    env = get_env(srv, "/emb/t?a=1&b=%20x&c")
    assert env["QUERY_STRING"] == "a=1&b=%20x&c"
    assert env["REQUEST_URI"] == "/emb/t?a=1&b=%20x&c"


def test_request_headers(srv):
    env = raw_env(srv, (
        "POST /emb/t HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        "X-Custom: custom-value\r\nX_Underscore: dropped\r\n"
        "X-Multi: one\r\nX-Multi: two\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 5\r\n"
        "\r\nhello"))
    assert env["REQUEST_METHOD"] == "POST"
    assert env["HTTP_X_CUSTOM"] == "custom-value"
    assert "HTTP_X_UNDERSCORE" not in env
    assert not any("UNDERSCORE" in k for k in env)
    assert env["HTTP_X_MULTI"] == "one, two"
    assert env["CONTENT_TYPE"] == "application/x-www-form-urlencoded"
    assert env["CONTENT_LENGTH"] == "5"
    assert "HTTP_CONTENT_TYPE" not in env
    assert "HTTP_CONTENT_LENGTH" not in env


def test_setenv_variables_are_passed(srv):
    assert get_env(srv, "/emb/t")["MOD_WSGI_RS_SETENV"] == "from-setenv"


AUTH = {"Authorization": "Basic dXNlcjpzZWNyZXQ="}


def test_authorization_hidden_by_default(srv):
    env = get_env(srv, "/emb/t", headers=AUTH)
    assert "HTTP_AUTHORIZATION" not in env


def test_authorization_passed_with_directive(srv):
    env = get_env(srv, "/auth-dir", headers=AUTH)
    assert env["HTTP_AUTHORIZATION"] == AUTH["Authorization"]


def test_authorization_passed_with_alias_option(srv):
    env = get_env(srv, "/auth-option/x", headers=AUTH)
    assert env["HTTP_AUTHORIZATION"] == AUTH["Authorization"]


# Embedded mode only: in daemon mode the pool's processes=/threads= decide
# (test_daemon_options.py), not the MPM.
@pytest.mark.parametrize("mpm,multithread,multiprocess", [
    ("event", True, True),
    ("worker", True, True),
    ("prefork", False, True),
])
def test_multithread_multiprocess_follow_the_mpm(apache, mpm, multithread, multiprocess):
    srv = apache("WSGIScriptAlias /env @APPS@/environ.wsgi\n", mpm=mpm)
    env = get_env(srv, "/env")
    assert env["wsgi.multithread"] is multithread
    assert env["wsgi.multiprocess"] is multiprocess


@pytest.mark.parametrize("request_line, path_info", [
    ("GET /emb/t/%ff%fe?q=%ff%c0 HTTP/1.1", "/\u00ff\u00fe"),    # %-escaped, not UTF-8
    ("GET /emb/t/caf\xe9 HTTP/1.1", "/caf\u00e9"),                 # a raw latin-1 byte
])
def test_a_uri_that_is_not_utf8_reaches_the_app_latin1_decoded(srv, request_line, path_info):
    # PEP 3333: PATH_INFO is the decoded path's bytes as latin-1 (mod_wsgi 6 does the same;
    # it was 403/404 here when the URI went through a UTF-8 &str)
    env = raw_env(srv, f"{request_line}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert env["PATH_INFO"] == path_info
    assert env["SCRIPT_NAME"] == "/emb/t"
