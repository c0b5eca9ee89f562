"""WSGIPerInterpreterGIL On (PEP 684), with the module built against each CPython ≥ 3.12 on
the machine: sub-interpreters of its scope get their own GIL, the main interpreter and groups
where a <WSGIInterpreterOptions> block turns it Off keep the shared one, an extension module
without per-interpreter GIL support fails with a line saying what to do, and a slice of the
suite passes with the option on for every sub-interpreter. In both modes.

The speed-up (two groups in parallel on two cores) is measured in bench/pergil.py, not here.
"""
import os
import subprocess
import sys

import pytest
import requests

import harness
from harness import pythons

VERSIONS = ["3.12", "3.13", "3.14"]
# sub-interpreters are what the option changes: these files use them
SLICE = ["tests/test_application_groups.py", "tests/test_reload.py"]


@pytest.fixture(scope="module", params=VERSIONS)
def built(request):
    """(version, module .so, venv) for one Python with PEP 684."""
    return pythons.module_for(request.param)


SCOPED = """\
WSGIPerInterpreterGIL On
<WSGIInterpreterOptions application-group=legacy>
WSGIPerInterpreterGIL Off
</WSGIInterpreterOptions>
WSGIScriptAlias /own @APPS@/gil_probe.wsgi application-group=own
WSGIScriptAlias /legacy @APPS@/gil_probe.wsgi application-group=legacy
WSGIScriptAlias /main @APPS@/gil_probe.wsgi application-group=%{GLOBAL}
"""


@pytest.fixture(params=harness.MODES)
def scoped(built, request):
    version, so, venv = built
    srv = harness.Apache(harness.in_mode(SCOPED, request.param), module_so=so,
                         python_home=str(venv), global_application_group=False,
                         name=f"pergil{version}")
    srv.start()
    yield srv
    srv.cleanup()


def probe(srv, mount):
    r = requests.get(srv.url(f"/{mount}/"), timeout=30)
    assert r.status_code == 200, srv.error_log()[-3000:]
    return dict(line.split("=", 1) for line in r.text.splitlines())


def test_a_sub_interpreter_in_scope_gets_its_own_gil(scoped):
    own = probe(scoped, "own")
    assert own["group"] == "'own'"
    # PEP 684's isolated interpreter, as mod_wsgi 6 makes it: threads yes, daemon threads no
    assert own["threads"] == "yes"
    assert own["daemon_threads"].startswith("no"), own
    assert "Creating sub-interpreter 'own' in" in scoped.error_log()
    assert any("sub-interpreter 'own'" in line and line.endswith("with own GIL.")
               for line in scoped.error_log().splitlines()), scoped.error_log()[-3000:]


def test_the_main_interpreter_and_a_group_turned_off_keep_the_shared_gil(scoped):
    for mount in ("main", "legacy"):
        got = probe(scoped, mount)
        assert got["daemon_threads"] == "yes", (mount, got)
    log = scoped.error_log()
    legacy = [line for line in log.splitlines() if "Creating sub-interpreter 'legacy'" in line]
    assert legacy and not legacy[0].endswith("with own GIL."), legacy


def test_an_extension_without_per_interpreter_gil_support_fails_saying_what_to_do(scoped):
    # where the GIL is shared it imports (first: CPython 3.12.1 crashes importing a
    # single-phase module in the main interpreter after an own-GIL one was refused it)
    for mount in ("main", "legacy"):
        r = requests.get(scoped.url(f"/{mount}/singlephase"), timeout=30)
        assert (r.status_code, r.text) == (200, "imported"), scoped.error_log()[-3000:]
    r = requests.get(scoped.url("/own/singlephase"), timeout=30)
    assert r.status_code == 500
    lines = scoped.error_log().splitlines()
    hint = [line for line in lines if "Extension module '_testsinglephase' does not support a per-interpreter GIL" in line]
    # one line of its own, and the same words as a note in the traceback
    assert len(hint) >= 2, "\n".join(lines[-40:])
    assert "WSGIApplicationGroup %{GLOBAL}" in hint[0], hint[0]
    assert "WSGIPerInterpreterGIL Off" in hint[0], hint[0]
    assert any("ImportError: module _testsinglephase does not support loading in subinterpreters" in line
               for line in lines), "\n".join(lines[-40:])


def test_input_and_errors_work_in_parallel_interpreters(scoped):
    """wsgi.input and wsgi.errors of several own-GIL interpreters at once (one per group)."""
    from concurrent.futures import ThreadPoolExecutor
    body = b"x" * 300_000

    def post(mount):
        return requests.post(scoped.url(f"/{mount}/input"), data=body, timeout=30)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(post, ["own", "legacy", "main", "own"] * 6))
    assert [(r.status_code, r.text) for r in results] == [(200, str(len(body)))] * len(results)
    assert scoped.error_log().count(f"read {len(body)} bytes") == len(results)


def test_a_slice_of_the_suite_passes_with_a_gil_per_interpreter(built):
    version, so, venv = built
    env = dict(os.environ, MOD_WSGI_RS_SO=str(so), MOD_WSGI_RS_VENV=str(venv),
               MOD_WSGI_RS_WSGI_CONF="WSGIPerInterpreterGIL On")
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SLICE],
                         cwd=harness.REPO, env=env, capture_output=True, text=True, timeout=1800)
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-2000:]
