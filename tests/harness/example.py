"""The conf.d example (two Flask apps on one port), made runnable.

conf.d/example.conf is a template with @APPDIR@, @VENV@ and @PORT@; the apps
live in conf.d/example/. prepare_example() copies the apps into a
world-readable runtime directory (Apache's children run as www-data), fills in
the template and wraps it in the harness's base httpd.conf. `make run` and
tests/test_seed_scenario.py both use it.
"""

import os
import shutil
from pathlib import Path

from .apache import REPO, Apache, default_python_home, free_port, make_world_readable

EXAMPLE_SRC = REPO / "conf.d" / "example"
EXAMPLE_CONF = REPO / "conf.d" / "example.conf"
RUN_MARKER = ".mod_wsgi_rs-runtime"


def render_example_conf(appdir, venv, port):
    return (EXAMPLE_CONF.read_text()
            .replace("@APPDIR@", str(appdir))
            .replace("@VENV@", str(venv))
            .replace("@PORT@", str(port)))


def _reset_dir(root):
    """Empty root for a fresh runtime copy, refusing to wipe a directory that
    was not made by us."""
    root = Path(root)
    if root.exists():
        if any(root.iterdir()) and not (root / RUN_MARKER).exists():
            raise SystemExit(f"{root} exists and was not created by mod_wsgi_rs; "
                             f"refusing to empty it")
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / RUN_MARKER).write_text("runtime directory of mod_wsgi_rs `make run`\n")


def prepare_example(root=None, port=None, venv=None, **kw):
    """Build a ServerRoot serving the conf.d example; returns an (unstarted)
    harness.Apache. root=None makes a fresh temp dir; a given root is emptied
    first (only if it is ours)."""
    venv = venv or default_python_home()
    if not venv:
        raise SystemExit("no virtualenv for WSGIPythonHome: pass --venv or run "
                         "with the venv's python (make venv)")
    port = port or free_port()
    if root is not None:
        _reset_dir(root)
        os.chmod(root, 0o755)
    srv = Apache("", port=port, root=root, python_home=None,
                 global_application_group=False, copy_apps=False,
                 name="example", **kw)
    appdir = srv.root / "example"
    shutil.copytree(EXAMPLE_SRC, appdir,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    make_world_readable(appdir)
    srv.example_dir = appdir
    srv.venv = venv
    srv.fragment = render_example_conf(appdir, venv, port)
    srv.write_config()
    return srv
