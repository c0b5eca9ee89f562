"""Other CPythons on the machine (3.10–3.14 with a shared libpython, as pyenv installs
them), made usable by Apache's workers, and the module built against each.

pyenv keeps its Pythons in the home directory of whoever installed them, where www-data may
not read: each one is copied to a world-readable prefix first, with a venv (Flask) beside it.
"""
import glob
import os
import shutil
import subprocess
from pathlib import Path

from .apache import REPO

COPIES = Path("/opt/mod_wsgi_rs/python")


def pyenv_versions():
    """pyenv's versions directory ($PYENV_ROOT, or what `pyenv root` says), or None."""
    root = os.environ.get("PYENV_ROOT")
    if not root and shutil.which("pyenv"):
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
    return Path(root) / "versions" if root else None


PYENV = pyenv_versions()


def installed(version):
    """A pyenv CPython of `version` with a shared libpython, or None."""
    if PYENV is None:
        return None
    for prefix in sorted(glob.glob(str(PYENV / f"{version}.*")), reverse=True):
        if glob.glob(f"{prefix}/lib/libpython{version}.so*") and not prefix.endswith("t"):
            return Path(prefix)
    return None


def missing_reason(version):
    where = f"under {PYENV}" if PYENV else "(no pyenv: set PYENV_ROOT)"
    return f"no CPython {version} with a shared libpython {where} on this machine"


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


def build_module(python, version):
    """`make build PYTHON=python`: the module .so for that Python (built once per run by make)."""
    res = subprocess.run(["make", "--no-print-directory", "build", f"PYTHON={python}"], cwd=REPO,
                         capture_output=True, text=True, timeout=1800)
    if res.returncode != 0:
        raise RuntimeError(res.stdout[-3000:] + res.stderr[-3000:])
    tag = version.replace(".", "")
    so = REPO / "target" / f"py{tag}" / f"mod_wsgi_rs-py{tag}.so"
    if not so.exists():
        raise RuntimeError(f"make build said nothing wrong but made no {so}:\n{res.stdout[-2000:]}")
    return so


def module_for(version):
    """(version, module .so, venv) for CPython `version`, or a pytest skip saying it is not
    on the machine."""
    import pytest
    source = installed(version)
    if source is None:
        pytest.skip(missing_reason(version))
    python = readable_copy(source, version)
    return version, build_module(python, version), venv_of(python, version)
