"""WSGITrustedProxyHeaders / WSGITrustedProxies (reference §3.4): what a front-end proxy
says about the original request reaches the app only when trusted."""

import pytest
import requests

CONF = """\
WSGIScriptAlias /trusting @APPS@/environ.wsgi
WSGIScriptAlias /listed @APPS@/environ.wsgi
WSGIScriptAlias /plain @APPS@/environ.wsgi
<Location /trusting>
    WSGITrustedProxyHeaders X-Forwarded-For X-Forwarded-Host
    WSGITrustedProxyHeaders X-Forwarded-Proto X-Script-Name
</Location>
<Location /listed>
    WSGITrustedProxyHeaders X-Forwarded-For X-Forwarded-Proto
    WSGITrustedProxies 10.0.0.0/8 ::1
</Location>
"""

DAEMON = "WSGIDaemonProcess proxypool threads=2\nWSGIProcessGroup proxypool\n"

HEADERS = {
    "X-Forwarded-For": "203.0.113.7, 10.1.1.1",
    "X-Real-IP": "198.51.100.66",
    "X-Forwarded-Host": "www.example.org",
    "X-Forwarded-Proto": "https",
    "X-Script-Name": "/shop",
    "X-Other": "passes",
}


def environ(srv, path):
    r = requests.get(srv.url(path), headers=HEADERS, timeout=30)
    assert r.status_code == 200, r.text[:300]
    return r.json()


@pytest.mark.parametrize("mode", ["embedded", "daemon"])
def test_trusted_headers_describe_the_original_request(apache, mode):
    srv = apache(CONF + (DAEMON if mode == "daemon" else ""))
    env = environ(srv, "/trusting")
    assert env["REMOTE_ADDR"] == "203.0.113.7"
    assert env["HTTP_HOST"] == "www.example.org"
    assert env["wsgi.url_scheme"] == "https"
    assert env["SCRIPT_NAME"] == "/shop"
    assert env["mod_wsgi.mount_point"] == "/shop"
    # A synonym of a trusted header could be spoofed: it is dropped.
    assert "HTTP_X_REAL_IP" not in env
    assert env["HTTP_X_OTHER"] == "passes"


def test_headers_from_a_peer_not_in_the_proxy_list_are_ignored(apache):
    srv = apache(CONF)
    env = environ(srv, "/listed")  # we connect from 127.0.0.1, not in 10.0.0.0/8 or ::1
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["wsgi.url_scheme"] == "http"
    assert "HTTP_X_FORWARDED_FOR" not in env
    assert "HTTP_X_REAL_IP" not in env


def test_without_the_directive_headers_are_plain(apache):
    srv = apache(CONF)
    env = environ(srv, "/plain")
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["wsgi.url_scheme"] == "http"
    assert env["HTTP_X_FORWARDED_FOR"] == HEADERS["X-Forwarded-For"]
    assert env["HTTP_X_REAL_IP"] == HEADERS["X-Real-IP"]


def test_bad_values_fail_the_config_test(configtest):
    rc, out = configtest("WSGITrustedProxies 10.0.0.0/99\n")
    assert rc != 0 and "WSGITrustedProxies" in out and "CIDR" in out, out
    rc, out = configtest("WSGITrustedProxyHeaders X-Not-A-Proxy-Header\n")
    assert rc != 0 and "X-Forwarded-For" in out, out
