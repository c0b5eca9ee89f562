"""The module built against each other CPython on the machine (3.10–3.14 with a shared
libpython, as pyenv installs them): `make build PYTHON=...` builds it, it embeds that Python,
refuses a venv of another one, and a slice of the suite passes with it, in both modes.

pyenv keeps its Pythons in the home directory of whoever installed them, where Apache's
workers may not read; each one is copied to a world-readable prefix first. A version that is not on the machine is skipped, saying so.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

import harness
from harness import pythons

REPO = harness.REPO
VERSIONS = ["3.10", "3.12", "3.13", "3.14"]


# the slice of the suite run against each Python (each file runs in both modes)
SLICE = ["tests/test_environ.py", "tests/test_response.py", "tests/test_application_groups.py",
         "tests/test_reload.py"]


@pytest.fixture(scope="module", params=VERSIONS)
def built(request):
    """(version, module .so, venv) for one other Python."""
    return pythons.module_for(request.param)


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
