"""The module built against each other CPython on the machine (3.10–3.14 with a shared
libpython, as pyenv installs them): `make build PYTHON=...` builds it, it embeds that Python,
refuses a venv of another one, and a slice of the suite passes with it, in both modes.

pyenv keeps its Pythons in the home directory of whoever installed them, where Apache's
workers may not read; each one is copied to a world-readable prefix first. A version that is not on the machine is skipped, saying so.
"""
import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

import harness

REPO = Path(__file__).resolve().parent.parent
VERSIONS = ["3.10", "3.12", "3.13", "3.14"]


def pyenv_versions():
    """pyenv's versions directory ($PYENV_ROOT, or what `pyenv root` says), or None."""
    root = os.environ.get("PYENV_ROOT")
    if not root and shutil.which("pyenv"):
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
    return Path(root) / "versions" if root else None


PYENV = pyenv_versions()
COPIES = Path("/opt/mod_wsgi_rs/python")
# the slice of the suite run against each Python (each file runs in both modes)
SLICE = ["tests/test_environ.py", "tests/test_response.py", "tests/test_application_groups.py",
         "tests/test_reload.py"]


def installed(version):
    """A pyenv CPython of `version` with a shared libpython, or None."""
    if PYENV is None:
        return None
    for prefix in sorted(glob.glob(str(PYENV / f"{version}.*")), reverse=True):
        if glob.glob(f"{prefix}/lib/libpython{version}.so*") and not prefix.endswith("t"):
            return Path(prefix)
    return None


def readable_copy(source, version):
    """`source` copied under COPIES (once per source), readable by everyone."""
    target = COPIES / version
    stamp = target / ".copied-from"
    if not (stamp.exists() and stamp.read_text() == str(source)):
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "-a", str(source), str(target)], check=True)
        stamp.write_text(str(source))
    subprocess.run(["chmod", "-R", "a+rX", str(COPIES)], check=True)
    return target / "bin" / "python3"


def venv_of(python, version):
    """A virtualenv of `python` with Flask, readable by everyone."""
    venv = Path(f"/opt/mod_wsgi_rs/venv-{version}")
    stamp = venv / ".flask-installed"
    if not stamp.exists():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([str(python), "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "flask"], check=True)
        stamp.write_text("flask\n")
    subprocess.run(["chmod", "-R", "a+rX", str(venv)], check=True)
    return venv


@pytest.fixture(scope="module", params=VERSIONS)
def built(request):
    """(version, module .so, venv) for one other Python."""
    version = request.param
    source = installed(version)
    if source is None:
        where = f"under {PYENV}" if PYENV else "(no pyenv: set PYENV_ROOT)"
        pytest.skip(f"no CPython {version} with a shared libpython {where} on this machine")
    python = readable_copy(source, version)
    res = subprocess.run(["make", "--no-print-directory", "build", f"PYTHON={python}"], cwd=REPO,
                         capture_output=True, text=True, timeout=1800)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    so = REPO / "target" / f"py{version.replace('.', '')}" / f"mod_wsgi_rs-py{version.replace('.', '')}.so"
    assert so.exists(), res.stdout[-2000:]
    return version, so, venv_of(python, version)


PROBE = """\
WSGIScriptAlias /probe @APPS@/python_probe.wsgi
"""


@pytest.mark.parametrize("mode", harness.MODES)
def test_the_module_embeds_that_python(built, mode):
    version, so, venv = built
    srv = harness.Apache(harness.in_mode(PROBE, mode), module_so=so, python_home=str(venv),
                         name=f"py{version}")
    srv.start()
    try:
        r = requests.get(srv.url("/probe"), timeout=30)
        assert r.status_code == 200, srv.error_log()[-3000:]
        running, prefix = r.text.split()
        assert running == version
        assert prefix == str(venv)
        # the version banner says which Python is loaded
        assert f"Python/{version}" in r.headers.get("Server", ""), r.headers
        assert f"mod_wsgi_rs/" in srv.error_log()
    finally:
        srv.cleanup()


def test_a_venv_of_another_python_is_refused_naming_both(built):
    version, so, _ = built
    other = Path(sys.prefix)   # the test venv: Debian's 3.11
    srv = harness.Apache("WSGIScriptAlias /probe @APPS@/python_probe.wsgi\n", module_so=so,
                         python_home=str(other), name=f"py{version}-wrong")
    try:
        code, out = srv.configtest()
        assert code != 0
        assert f"is a virtualenv of Python {sys.version_info[0]}.{sys.version_info[1]}" in out, out
        assert f"mod_wsgi_rs embeds Python {version}" in out, out
    finally:
        srv.cleanup()


def test_a_slice_of_the_suite_passes(built):
    version, so, venv = built
    env = dict(os.environ, MOD_WSGI_RS_SO=str(so), MOD_WSGI_RS_VENV=str(venv))
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SLICE],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-2000:]
