"""Differential suite: the same requests against our module and mod_wsgi 6.

For each mode (embedded, daemon) one Apache with our module and one with
mod_wsgi 6 are started, one after the other, on the same port with the same
httpd.conf fragment; every case below is sent to both and the answers are
compared after normalisation (harness/differential.py). A difference fails,
unless it is one of the named deliberate ones (DELIBERATE there, and the
README's table), or one still being worked on (NOT_YET_FIXED below: strict
xfail, so fixing one without moving it out fails loudly).
"""

import pytest

import harness
from harness import differential as dt

CONF = """\
WSGIScriptAlias /env @APPS@/environ.wsgi
WSGIScriptAlias /c @APPS@/contract.wsgi
WSGIScriptAlias /chunked @APPS@/contract.wsgi
<Location /chunked>
    WSGIChunkedRequest On
</Location>
WSGIScriptAlias /auth @APPS@/environ.wsgi
<Location /auth>
    WSGIPassAuthorization On
</Location>
WSGIScriptAlias /bad @APPS@/bad_response.wsgi
WSGIScriptAlias /flask @APPS@/flask_app.wsgi
ErrorDocument 404 "custom error document 404"
WSGIScriptAlias /eo @APPS@/daemon_probe.wsgi
<Location /eo>
    WSGIErrorOverride On
</Location>
WSGIScriptAlias /probe @APPS@/daemon_probe.wsgi
WSGIScriptAlias /shape @APPS@/modwsgi_shape.wsgi
WSGIScriptAlias /proxied @APPS@/environ.wsgi
<Location /proxied>
    WSGITrustedProxyHeaders X-Forwarded-For X-Forwarded-Proto X-Forwarded-SSL X-Forwarded-Script-Name X-Forwarded-Host X-Forwarded-Port
    WSGITrustedProxies 127.0.0.1
</Location>
"""

HOST = "Host: 127.0.0.1\r\n"


def req(method, path, headers="", body=b"", version="HTTP/1.1", close=True):
    head = f"{method} {path} {version}\r\n{HOST}{headers}"
    if body and "Content-Length" not in headers and "Transfer-Encoding" not in headers:
        head += f"Content-Length: {len(body)}\r\n"
    if close:
        head += "Connection: close\r\n"
    return head.encode("latin-1") + b"\r\n" + body


def contract_case_names():
    """The case names of tests/apps/contract.wsgi, read without running it
    through a server (it only imports sys at module level)."""
    ns = {}
    exec(compile((harness.APPS_DIR / "contract.wsgi").read_text(), "contract.wsgi", "exec"),
         ns)
    return sorted(ns["CASES"])


INPUT_CASES = {"input-read", "input-read-sized", "input-read-negative", "input-readline",
               "input-readlines", "input-iterate", "input-past-content-length"}
UPLOAD = b"line one\nline two\nthird line, no newline"


def build_cases():
    cases = []
    for name in contract_case_names():
        if name in INPUT_CASES:
            cases.append((name, req("POST", f"/c/{name}", body=UPLOAD)))
        else:
            cases.append((name, req("GET", f"/c/{name}")))
    # the same responses to HEAD, and kept alive (what load balancers do)
    for name in ("head-style-no-body", "generator", "content-length-short",
                 "repeated-headers", "file-wrapper-file"):
        cases.append((f"HEAD {name}", req("HEAD", f"/c/{name}", close=False)))
    for name in ("head-style-no-body", "not-modified", "no-content", "generator"):
        cases.append((f"keep-alive {name}", req("GET", f"/c/{name}", close=False)))
    cases += [
        ("input chunked", req("POST", "/chunked/input-read",
                              "Transfer-Encoding: chunked\r\n",
                              b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")),
        ("input chunked refused", req("POST", "/c/input-read",
                                      "Transfer-Encoding: chunked\r\n",
                                      b"5\r\nhello\r\n0\r\n\r\n")),
        ("input empty POST", req("POST", "/c/input-read", "Content-Length: 0\r\n")),
        ("input GET no body", req("GET", "/c/input-read")),
        # broken and truncated request bodies (issue: never a short body passed off as whole)
        ("body chunk size not hex", req("POST", "/chunked/input-read", "Transfer-Encoding: chunked\r\n",
                                        b"zz\r\nhello\r\n0\r\n\r\n")),
        ("body chunk size too long", req("POST", "/chunked/input-read", "Transfer-Encoding: chunked\r\n",
                                         b"12345678901234567890\r\nhello\r\n0\r\n\r\n")),
        ("body chunk without CRLF", req("POST", "/chunked/input-read", "Transfer-Encoding: chunked\r\n",
                                        b"5\r\nhelloXXXXXXX\r\n0\r\n\r\n")),
        ("body chunk cut by the client", dt.HalfClose(req(
            "POST", "/chunked/input-read", "Transfer-Encoding: chunked\r\n", b"a\r\nhel"))),
        ("body shorter than Content-Length", dt.HalfClose(req(
            "POST", "/c/input-read", "Content-Length: 1000\r\n", b"abc"))),
        ("body cut, app reads in pieces", dt.HalfClose(req(
            "POST", "/c/input-read-sized", "Content-Length: 1000\r\n", b"abcdefghij"))),
        # environ
        ("environ GET", req("GET", "/env/a/b?x=1&y=%20z",
                            "User-Agent: differential\r\nAccept: */*\r\n")),
        ("environ HEAD", req("HEAD", "/env/head?x=1")),
        ("environ POST form", req("POST", "/env/form", "Content-Type: "
                                  "application/x-www-form-urlencoded\r\n", b"a=1&b=2")),
        ("environ no path info", req("GET", "/env")),
        ("environ slash", req("GET", "/env/")),
        ("environ double slashes", req("GET", "/env//a//b")),
        ("environ encoded path", req("GET", "/env/a%20b/%7Euser/%2Fslash")),
        ("environ non-utf8 path", req("GET", "/env/%ff%fe?q=%ff%c0")),
        ("environ raw latin-1 path", b"GET /env/caf\xe9 HTTP/1.1\r\n" + HOST.encode()
         + b"Connection: close\r\n\r\n"),
        ("environ HTTP/1.0", req("GET", "/env/old", version="HTTP/1.0")),
        ("environ repeated header", req("GET", "/env/rep",
                                        "X-Rep: one\r\nX-Rep: two\r\n")),
        ("environ underscore header", req("GET", "/env/u", "X_Under: hidden\r\n"
                                          "X-Dash: shown\r\n")),
        ("environ cookie", req("GET", "/env/c", "Cookie: a=1; b=2\r\n")),
        ("environ authorization hidden", req("GET", "/env/a",
                                             "Authorization: Basic YWxpY2U6c2VjcmV0\r\n")),
        ("environ authorization passed", req("GET", "/auth/a",
                                             "Authorization: Basic YWxpY2U6c2VjcmV0\r\n")),
        ("environ content type no body", req("GET", "/env/ct",
                                             "Content-Type: text/plain\r\n")),
        ("environ expect continue", req("POST", "/env/e", "Expect: 100-continue\r\n",
                                        b"body")),
        ("environ OPTIONS", req("OPTIONS", "/env/o")),
        ("environ custom method", req("PROPFIND", "/env/p")),
        # bad_response.wsgi
        *[(f"bad {c}", req("GET", f"/bad?case={c}"))
          for c in ("status_short", "status_int", "status_noreason", "status_ctl",
                    "header_space", "header_value_int", "headers_tuple",
                    "header_not_pair", "body_str", "no_start_response",
                    "second_start_response")],
        # daemon-mode features of mod_wsgi (what embedded mode does with them counts too)
        ("error override 404", req("GET", "/eo?mode=status&code=404")),
        ("error override 202", req("GET", "/eo?mode=status&code=202")),
        ("location 200 redirect", req("GET", "/probe?mode=redirect&to=/env/target%3Fq")),
        ("location 302", req("GET", "/probe?mode=status&code=302")),
        # trusted proxy headers
        ("proxy forwarded for", req("GET", "/proxied/a", "X-Forwarded-For: 10.1.2.3, 127.0.0.1\r\n")),
        ("proxy forwarded ssl", req("GET", "/proxied/a", "X-Forwarded-SSL: On\r\n")),
        ("proxy forwarded proto", req("GET", "/proxied/a", "X-Forwarded-Proto: https\r\n")),
        ("proxy forwarded script name", req("GET", "/proxied/a",
                                            "X-Forwarded-Script-Name: /mount\r\n")),
        ("proxy forwarded host and port", req("GET", "/proxied/a", "X-Forwarded-Host: example.org\r\n"
                                              "X-Forwarded-Port: 8443\r\n")),
        # the mod_wsgi module's shape (names, event and metrics keys)
        ("mod_wsgi names", req("GET", "/shape/names")),
        ("mod_wsgi request_data", req("GET", "/shape/request-data")),
        ("mod_wsgi metrics keys", req("GET", "/shape/metrics")),
        ("mod_wsgi event keys", req("GET", "/shape/events")),
        # a real framework
        ("flask index", req("GET", "/flask/")),
        ("flask template", req("GET", "/flask/hello/world")),
        ("flask args", req("GET", "/flask/args?a=1&a=2&b=3")),
        ("flask 404", req("GET", "/flask/missing")),
        ("flask HEAD", req("HEAD", "/flask/hello/world", close=False)),
        ("flask 405", req("POST", "/flask/hello/world", body=b"x")),
    ]
    return cases


CASES = build_cases()

# Differences found and not fixed yet: (mode or None for both, case) -> what.
# Strict xfail: each must come out of here the moment it is fixed.
NOT_YET_FIXED = {
}


@pytest.fixture(scope="module")
def observed(mode, module_so):
    """{'ours'|'mod_wsgi': (root, {case: Observed})} for this mode."""
    fragment = harness.in_mode(CONF, mode)
    port = harness.free_port()
    out = {}
    for server, so in (("mod_wsgi", dt.reference_module_so()), ("ours", None)):
        srv = harness.Apache(fragment, module_so=so, port=port,
                             mpm_config=harness.ONE_EVENT_CHILD, name=f"diff-{server}")
        srv.start()
        try:
            # load the scripts first: loading is logged, and not per case
            taken = set()
            for path in ("/env/warm", "/c/generator", "/bad?case=status_noreason",
                         "/flask/", "/shape/names", "/probe?mode=status&code=200"):
                dt.send(port, req("GET", path), taken=taken)
            out[server] = (srv.root, dt.record(srv, CASES, taken=taken))
        finally:
            srv.cleanup()
    return out


@pytest.mark.parametrize("case", [name for name, _ in CASES])
def test_same_answer_as_mod_wsgi(observed, mode, case, request):
    known = NOT_YET_FIXED.get((mode, case)) or NOT_YET_FIXED.get((None, case))
    if known:
        request.applymarker(pytest.mark.xfail(reason=f"not yet fixed: {known}",
                                              strict=True))
    ours_root, ours = observed["ours"]
    ref_root, theirs = observed["mod_wsgi"]
    a = dt.comparable(ours[case], ours_root)
    b = dt.comparable(theirs[case], ref_root)
    diff = dt.differences(*dt.reconcile(case, a, b))
    assert not diff, dt.explain(diff)


def test_every_deliberate_difference_has_its_own_test():
    missing = []
    for d in dt.DELIBERATE.values():
        path, _, name = d.test.partition("::")
        source = (harness.TESTS_DIR / path).read_text()
        if f"def {name}(" not in source:
            missing.append(d.test)
    assert not missing, f"deliberate differences name tests that do not exist: {missing}"


def test_every_deliberate_difference_is_in_the_readme():
    readme = (harness.REPO / "README.md").read_text()
    missing = [d.what for d in dt.DELIBERATE.values() if d.what not in readme]
    assert not missing, f"README's differences table lacks: {missing}"
