"""Reloading a daemon pool when its script is touched (reference §6, DESIGN
§4): under a concurrent client loop, five touches each with a changed
submodule; no request fails and none is answered by code older than the
last touch completed before it was sent."""

import os
import re
import time

import pytest

from harness import daemon as hd

APP = "@APPS@/daemon/reload/app.wsgi"
TOUCHES = 5
LOAD_SECONDS = 10


def bump_mtime(path, step):
    st = os.stat(path)
    t = max(time.time(), st.st_mtime + step)
    os.utime(path, (t, t))


def write_module(path, version):
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"# Rewritten by tests/test_daemon_reload.py\nVERSION = {version}\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def touch_under_load(srv, url, script, module, touches=TOUCHES,
                     seconds=LOAD_SECONDS, threads=8):
    """Runs the client loop, makes `touches` edits+touches spread over
    `seconds`; returns (results, touch times {version: monotonic})."""
    loop = hd.ClientLoop(srv.port, url, threads=threads, timeout=30).start()
    touched = {}
    try:
        time.sleep(1.0)
        gap = (seconds - 2.0) / touches
        for k in range(2, touches + 2):
            write_module(module, k)
            bump_mtime(script, 1)
            touched[k] = time.monotonic()   # this touch is complete from here on
            time.sleep(gap)
        time.sleep(1.0)
    finally:
        results = loop.stop()
    return results, touched


def judge(results, touched, version_of):
    failed = [r for r in results if r[2] != 200]
    stale = []
    for sent, done, status, body in results:
        if status != 200:
            continue
        v = version_of(body)
        expected = max([k for k, t in touched.items() if t <= sent], default=1)
        if v < expected:
            stale.append((round(sent, 3), v, expected, body[:80]))
    return failed, stale


@pytest.mark.slow
def test_touch_under_load_no_failure_no_stale_response(apache):
    srv = apache(f"""\
WSGIDaemonProcess rl processes=2 threads=5
WSGIScriptAlias /rl {APP} process-group=rl
""", mpm_config=hd.EVENT_FIXED)
    script = srv.apps / "daemon" / "reload" / "app.wsgi"
    module = srv.apps / "daemon" / "reload" / "mwrs_dver.py"
    assert hd.get(srv.port, "/rl")[2].startswith(b"version=1 ")
    mark = srv.log_mark()

    def version_of(body):
        return int(re.match(rb"version=(\d+) ", body).group(1))

    results, touched = touch_under_load(srv, "/rl", script, module)
    failed, stale = judge(results, touched, version_of)
    versions = sorted({version_of(b) for _, _, s, b in results if s == 200})
    pids = {b.split(b"pid=")[1] for _, _, s, b in results if s == 200}
    restarts = len(re.findall(r"restarting daemon process group 'rl' \(script changed\)",
                              srv.log_since(mark)))
    worst = max((d - s for s, d, st, _ in results), default=0)
    print(f"touch x{TOUCHES} under 8 client threads for {LOAD_SECONDS}s: "
          f"{len(results)} requests, {len(failed)} failed, {len(stale)} stale; "
          f"versions seen {versions}, {len(pids)} daemon pids, {restarts} pool restarts logged, "
          f"slowest request {worst:.2f}s")
    assert not failed, failed[:10]
    assert not stale, stale[:10]
    assert versions == list(range(1, TOUCHES + 2))
    assert restarts == TOUCHES
    # the final state: only the newest generation answers
    for _ in range(10):
        assert version_of(hd.get(srv.port, "/rl")[2]) == TOUCHES + 1
