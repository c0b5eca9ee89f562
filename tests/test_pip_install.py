"""`pip install .` the way a mod_wsgi user starts: into a fresh virtualenv of Debian's Python,
which builds the module against that venv's Python, then `mod_wsgi_rs-express start-server
app.wsgi` serves the app. Also: the sdist (`python -m build --sdist`) carries what building
needs.

The build shares one cargo target directory per run (target/pip) so it is paid once.
"""
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import pytest
import requests

import harness

REPO = harness.REPO
SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.fixture(scope="module")
def venv():
    """A fresh venv (readable by www-data) with `pip install .` done."""
    top = Path(tempfile.mkdtemp(prefix="mod_wsgi_rs-pip-"))
    os.chmod(top, 0o755)
    venv = top / "v"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", str(venv)], check=True)
    env = dict(os.environ, CARGO_TARGET_DIR=str(REPO / "target" / "pip"))
    env.pop("MOD_WSGI_RS_SO", None)
    res = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "flask", str(REPO)],
                         env=env, capture_output=True, text=True, timeout=1800)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-5000:]
    subprocess.run(["chmod", "-R", "a+rX", str(top)], check=True)
    yield venv
    shutil.rmtree(top, ignore_errors=True)


def express(venv, *args, **kw):
    env = dict(os.environ)
    env.pop("MOD_WSGI_RS_SO", None)   # the installed module, not the test build
    env.pop("PYTHONPATH", None)
    return subprocess.run([str(venv / "bin" / "mod_wsgi_rs-express"), *args], env=env,
                          capture_output=True, text=True, **kw)


def test_the_module_is_installed_in_the_venv_and_embeds_its_python(venv):
    res = express(venv, "module-location")
    assert res.returncode == 0, res.stderr
    so = Path(res.stdout.strip())
    assert so.is_file() and str(so).startswith(str(venv)), so
    dynamic = subprocess.run(["readelf", "-d", str(so)], capture_output=True, text=True).stdout
    assert "libpython3.11.so.1.0" in dynamic, dynamic
    assert "/root" not in dynamic, dynamic
    config = express(venv, "module-config").stdout
    assert f'LoadModule wsgi_module "{so}"' in config, config
    assert f'WSGIPythonHome "{venv}"' in config, config


def test_start_server_serves_the_app(venv):
    # not pytest's tmp_path: its parents are private, and www-data must reach the files
    top = Path(tempfile.mkdtemp(prefix="mod_wsgi_rs-express-"))
    app = top / "app"
    app.mkdir()
    shutil.copy(harness.APPS_DIR / "hello.wsgi", app / "hello.wsgi")
    subprocess.run(["chmod", "-R", "a+rX", str(top)], check=True)
    port = harness.free_port()
    root = top / "server"
    env = dict(os.environ)
    env.pop("MOD_WSGI_RS_SO", None)
    proc = subprocess.Popen([str(venv / "bin" / "mod_wsgi_rs-express"), "start-server",
                             str(app / "hello.wsgi"), "--port", str(port), "--server-root", str(root),
                             "--log-to-terminal"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not harness.port_open(port):
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(0.2)
        r = requests.get(f"http://127.0.0.1:{port}/", timeout=30)
        assert (r.status_code, r.text) == (200, "Hello World!")
        # the venv's own module (ServerTokens ProductOnly, as mod_wsgi-express: the banner is
        # just "Apache")
        so = express(venv, "module-location").stdout.strip()
        assert f'LoadModule wsgi_module "{so}"' in (root / "httpd.conf").read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert not harness.port_open(port), out[-2000:]
    shutil.rmtree(top, ignore_errors=True)


def test_the_sdist_carries_what_the_build_needs(tmp_path):
    res = subprocess.run([sys.executable, "-m", "build", "--sdist", "--outdir",
                          str(tmp_path / "dist"), str(REPO)], capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    (sdist,) = (tmp_path / "dist").glob("mod_wsgi_rs-*.tar.gz")
    names = {n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n}
    for needed in ("Cargo.toml", "Cargo.lock", "build.rs", "src/lib.rs", "src/python/mod_wsgi.py",
                   "apache-headers/wrapper.h", "express/mod_wsgi_rs/cli.py", "pyproject.toml"):
        assert needed in names, (needed, sorted(names)[:50])
    assert not any(n.startswith(("target/", "tests/")) for n in names)
