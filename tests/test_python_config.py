"""The Python interpreter settings: WSGIPythonHome, -Path, -Optimize, ..."""

import subprocess
import sys

import pytest
import requests

PROBE = "mod_wsgi_rs hash seed probe"

CONF = """\
WSGIPythonPath @APPS@/pylib
WSGIPythonOptimize 1
WSGIPythonHashSeed 12345
WSGIPythonWarnings ignore::DeprecationWarning
WSGIDontWriteBytecode On
WSGIScriptAlias /pyinfo @APPS@/pyinfo.wsgi
"""


def pyinfo(srv):
    r = requests.get(srv.url("/pyinfo"), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def configured(module_apache):
    return module_apache(CONF)


@pytest.fixture(scope="module")
def default(module_apache):
    return module_apache("WSGIScriptAlias /pyinfo @APPS@/pyinfo.wsgi\n")


def test_python_home_is_the_virtualenv(configured):
    info = pyinfo(configured)
    assert info["prefix"] == configured.python_home
    assert info["base_prefix"] == "/usr"
    assert info["version"][:2] == list(sys.version_info[:2])
    # packages of the venv are importable (Flask is installed there)
    assert any(p.startswith(configured.python_home) and p.endswith("site-packages")
               for p in info["path"]), info["path"]


def test_python_path_is_added_in_front(configured):
    info = pyinfo(configured)
    pylib = str(configured.apps / "pylib")
    assert info["pathmod"] == f"{pylib}/mwrs_pathmod.py"
    site_packages = [i for i, p in enumerate(info["path"]) if p.endswith("site-packages")]
    assert info["path"].index(pylib) < min(site_packages)


def test_optimize_warnings_bytecode(configured):
    info = pyinfo(configured)
    assert info["optimize"] == 1
    assert "ignore::DeprecationWarning" in info["warnoptions"]
    assert info["dont_write_bytecode"] is True


def test_hash_seed_makes_hashes_reproducible(configured):
    expected = subprocess.run(
        ["/usr/bin/python3", "-c", f"print(hash({PROBE!r}))"],
        env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, check=True).stdout.strip()
    seen = {pyinfo(configured)["hash"] for _ in range(10)}  # several children
    assert seen == {int(expected)}


def test_defaults(default):
    info = pyinfo(default)
    assert info["optimize"] == 0
    assert info["dont_write_bytecode"] is False
    assert info["pathmod"] is None
    assert info["uid"] != 0  # runs as www-data, not root
    assert info["ppid"] == default.parent_pid
