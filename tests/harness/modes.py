"""Embedded and daemon mode from one test configuration.

Every WSGI contract test runs in both modes: a test writes its fragment once
(aliases, Locations) and the `mode` fixture (tests/conftest.py) turns it into
the embedded or the daemon form with in_mode(). In daemon mode every script of
the fragment that names no process group of its own runs in one pool,
`contract`, so a request crosses the Apache child -> daemon process path that a
separate daemon-only copy of the test would not have exercised.
"""

MODES = ("embedded", "daemon")

# One process so per-process state (counters, recorded events) is as
# deterministic as in the one-child embedded setups; threads enough for the
# concurrency the contract tests use.
DAEMON_POOL = "contract"
# The socket prefix is spelt out because mod_wsgi 6 (the differential tests'
# reference) defaults to Debian's /var/run/apache2, which a test's ServerRoot
# does not own; ours defaults to the run directory.
DAEMON_PREAMBLE = f"""\
WSGISocketPrefix @ROOT@/run/wsgi
WSGIDaemonProcess {DAEMON_POOL} processes=1 threads=15
WSGIProcessGroup {DAEMON_POOL}
"""


def in_mode(fragment, mode):
    """The fragment as it is run in MODE ('embedded' or 'daemon')."""
    if mode == "embedded":
        return fragment
    if mode == "daemon":
        return DAEMON_PREAMBLE + fragment
    raise ValueError(f"unknown mode {mode!r} (one of {MODES})")


def mode_of(srv):
    """The mode an instance was configured in by in_mode()."""
    return "daemon" if f"WSGIProcessGroup {DAEMON_POOL}\n" in srv.conf.read_text() else "embedded"
