"""A configuration written by mod_wsgi-express 6 (`setup-server`, from the mod_wsgi package
on PyPI) starts unmodified with our module: only its LoadModule line is changed. That is
what a mod_wsgi-express user does to switch, in daemon mode and in --embedded-mode, with
the flag sets such users run."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

import harness

EXPRESS = Path(sys.prefix) / "bin" / "mod_wsgi-express"

APP = '''\
import os

import mod_wsgi


def application(environ, start_response):
    body = "|".join([
        "hello from express",
        environ.get("SCRIPT_NAME", ""),
        environ.get("PATH_INFO", ""),
        environ.get("mod_wsgi.process_group", ""),
        environ.get("MOD_WSGI_RS_EXPRESS_SETENV", ""),  # SetEnv: per request
        "served by mod_wsgi_rs " + getattr(mod_wsgi, "mod_wsgi_rs_version", "(not ours)"),
    ]).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
'''

# (test id, extra flags, path to request, what the body must hold)
FLAG_SETS = [
    ("daemon", [], "/", "hello from express||/|localhost:{port}|"),
    ("embedded", ["--embedded-mode"], "/", "hello from express||/||"),
    ("processes-threads", ["--processes", "2", "--threads", "3"], "/x", "|/x|localhost:{port}|"),
    ("mount-point", ["--mount-point", "/app"], "/app/y", "|/app|/y|"),
    ("reload-on-changes", ["--reload-on-changes"], "/", "hello from express"),
    ("timeouts", ["--request-timeout", "30", "--queue-timeout", "20",
                  "--graceful-timeout", "5", "--maximum-requests", "1000"], "/", "hello from express"),
    ("setenv", ["--setenv", "MOD_WSGI_RS_EXPRESS_SETENV", "set-by-express"], "/",
     "|set-by-express"),
    ("trust-proxy", ["--trust-proxy-header", "X-Forwarded-For",
                     "--trust-proxy", "127.0.0.1"], "/", "hello from express"),
    ("python-path-and-workdir", ["--python-path", "/tmp", "--working-directory", "/tmp"], "/",
     "hello from express"),
    ("buffers", ["--header-buffer-size", "65536", "--response-buffer-size", "131072",
                 "--socket-timeout", "30"], "/", "hello from express"),
    ("url-alias", ["--url-alias", "/static", "/tmp"], "/", "hello from express"),
    ("compress", ["--compress-responses"], "/", "hello from express"),
    ("server-metrics-and-status", ["--server-metrics", "--server-status"], "/",
     "hello from express"),
    ("embedded-processes", ["--embedded-mode", "--processes", "2", "--threads", "4"], "/z",
     "|/z||"),
    ("http2", ["--http2"], "/", "hello from express"),
    ("locale-and-logs", ["--locale", "C.UTF-8", "--log-level", "info",
                         "--access-log"], "/", "hello from express"),
]


@pytest.fixture
def express_server(module_so):
    made = []

    def setup(flags):
        top = Path(tempfile.mkdtemp(prefix="mod_wsgi_rs-express-", dir="/tmp"))
        os.chmod(top, 0o755)
        app_dir = top / "app"
        app_dir.mkdir()
        (app_dir / "app.wsgi").write_text(APP)
        root = top / "root"
        port = harness.free_port()
        res = subprocess.run(
            [str(EXPRESS), "setup-server", str(app_dir / "app.wsgi"), "--port", str(port),
             "--server-root", str(root), "--user", "www-data", "--group", "www-data", *flags],
            capture_output=True, text=True, env=dict(harness.apache.APACHE_ENV, HOME="/tmp"),
            cwd=app_dir)
        assert res.returncode == 0, res.stdout + res.stderr
        conf = root / "httpd.conf"
        text = conf.read_text()
        ours = root / "mod_wsgi_rs.so"
        shutil.copy2(module_so, ours)
        swapped, n = re.subn(r"^LoadModule wsgi_module .*$", f"LoadModule wsgi_module '{ours}'",
                             text, flags=re.M)
        assert n == 1, "one LoadModule wsgi_module line expected in the express config"
        conf.write_text(swapped)
        harness.apache.make_world_readable(top)
        made.append((top, root))
        return root, port

    def apachectl(root, action):
        return subprocess.run([str(root / "apachectl"), action], capture_output=True, text=True,
                              env=dict(harness.apache.APACHE_ENV), timeout=60)

    setup.apachectl = apachectl
    yield setup
    for top, root in made:
        apachectl(root, "stop")
        deadline = time.monotonic() + 10
        while (root / "httpd.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        if not os.environ.get("MOD_WSGI_RS_KEEP"):
            shutil.rmtree(top, ignore_errors=True)


def error_log(root):
    try:
        return (root / "error_log").read_text(errors="replace")
    except OSError:
        return ""


@pytest.mark.parametrize("flags, path, expected", [f[1:] for f in FLAG_SETS],
                         ids=[f[0] for f in FLAG_SETS])
def test_express_config_serves_with_our_module(express_server, flags, path, expected):
    root, port = express_server(flags)
    res = express_server.apachectl(root, "start")
    assert res.returncode == 0, res.stdout + res.stderr + error_log(root)
    url = f"http://127.0.0.1:{port}{path}"
    deadline = time.monotonic() + 20
    while True:
        try:
            r = requests.get(url, timeout=10)
            if r.status_code != 503:
                break
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, f"no answer from {url}\n{error_log(root)[-4000:]}"
        time.sleep(0.2)
    assert r.status_code == 200, f"{r.status_code} {r.text[:500]}\n{error_log(root)[-4000:]}"
    assert expected.format(port=port) in r.text, r.text
    assert "served by mod_wsgi_rs 0." in r.text, r.text
    # what load balancers and uptime checks send
    h = requests.head(url, timeout=10)
    assert h.status_code == 200, error_log(root)[-4000:]
    assert not harness.apache.CRASH_PATTERNS.search(error_log(root)), error_log(root)[-4000:]
