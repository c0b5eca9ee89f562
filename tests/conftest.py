"""pytest fixtures: real Apache instances with mod_wsgi_rs.

Fixtures
  apache          factory, function scope: apache(fragment, **kw) -> started
                  harness.Apache, stopped (and checked for crashes/hangs) at
                  the end of the test
  module_apache   the same factory, module scope: one Apache shared by the
                  tests of a file (cheap: most files need one config)
  configtest      configtest(fragment, **kw) -> (returncode, output) of
                  `apache2 -t` on a generated config (never started)
  mode            'embedded' | 'daemon', module scope: a contract test file
                  takes it and builds its config with harness.in_mode()

On a failing test the tail of the error log of every running instance is
attached to the report.
"""

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402


def pytest_report_header(config):
    so = harness.module_so_path()
    return [f"mod_wsgi_rs module: {so} ({'present' if so.exists() else 'MISSING'})",
            f"python home for Apache: {harness.default_python_home()}"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for srv in harness.live_servers():
            rep.sections.append((f"apache error.log {srv.root} (tail)",
                                 srv.error_log_tail(200)))


class _Factory:
    def __init__(self):
        self.servers = []

    def __call__(self, fragment="", *, start=True, **kw):
        srv = harness.Apache(fragment, **kw)
        self.servers.append(srv)
        if start:
            srv.start()
        return srv

    def adopt(self, srv, start=True):
        """Manage a harness.Apache made elsewhere (e.g. prepare_example())."""
        self.servers.append(srv)
        if start:
            srv.start()
        return srv

    def teardown(self):
        errors = []
        for srv in self.servers:
            try:
                srv.cleanup()
            except harness.ApacheError as e:
                errors.append(str(e))
        self.servers.clear()
        if errors:
            pytest.fail("\n\n".join(errors), pytrace=False)


@pytest.fixture(scope="session")
def module_so():
    so = harness.module_so_path()
    if not so.exists():
        pytest.fail(f"{so} not found: run `make build` first (or set MOD_WSGI_RS_SO)",
                    pytrace=False)
    return so


@pytest.fixture
def apache(module_so):
    f = _Factory()
    yield f
    f.teardown()


@pytest.fixture(scope="module")
def module_apache(module_so):
    f = _Factory()
    yield f
    f.teardown()


@pytest.fixture(scope="module", params=harness.MODES)
def mode(request):
    """Every WSGI contract test runs in both modes (harness/modes.py)."""
    return request.param


@pytest.fixture
def configtest(module_so):
    made = []

    def run(fragment="", **kw):
        srv = harness.Apache(fragment, name="configtest", **kw)
        made.append(srv)
        rc, out = srv.configtest()
        run.last = srv
        return rc, out

    yield run
    if not os.environ.get("MOD_WSGI_RS_KEEP"):
        for srv in made:
            shutil.rmtree(srv.root, ignore_errors=True)
