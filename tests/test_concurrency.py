"""Threads, load, graceful restart and stop under load."""

import http.client
import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from harness import daemon as hd

CONF = """\
WSGIScriptAlias /hello @APPS@/hello.wsgi
WSGIScriptAlias /sleep @APPS@/sleeper.wsgi
"""

# event MPM, 25 threads per child, enough children started up front for 100
# concurrent requests (and no idle-thread reaping during the tests).
EVENT_100 = """\
<IfModule mpm_event_module>
    StartServers            4
    ServerLimit             8
    MinSpareThreads         25
    MaxSpareThreads         200
    ThreadLimit             64
    ThreadsPerChild         25
    MaxRequestWorkers       200
    MaxConnectionsPerChild  0
</IfModule>
"""

# The fixed pool for load tests (see harness/daemon.py).
EVENT_FIXED = hd.EVENT_FIXED

WRK_SECONDS = int(os.environ.get("MOD_WSGI_RS_WRK_SECONDS", "60"))

needs_wrk = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")


def one_request(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def concurrently(port, n, warm_up, path):
    """n requests to warm_up at once, then n to path at once: (results, seconds the second took)."""
    with ThreadPoolExecutor(max_workers=n) as pool:
        list(pool.map(lambda _: one_request(port, warm_up), range(n)))
        t0 = time.monotonic()
        results = list(pool.map(lambda _: one_request(port, path), range(n)))
        return results, time.monotonic() - t0


def test_100_concurrent_slow_requests_run_in_parallel(apache):
    srv = apache(CONF, mpm="event", mpm_config=EVENT_100)
    # warm-up: every child loads the script
    results, elapsed = concurrently(srv.port, 100, warm_up="/sleep?t=0.1", path="/sleep")
    assert all(status == 200 for status, _ in results), results
    assert all(body.startswith(b"slept ") for _, body in results)
    assert elapsed < 2.0, f"100 x 0.5 s requests took {elapsed:.2f}s"
    # they really ran in several threads of several processes
    pids = {body.split()[1] for _, body in results}
    threads = {tuple(body.split()[1:3]) for _, body in results}
    assert len(pids) > 1
    assert len(threads) >= 50


# One process with 32 request threads: embedded, a single event child; daemon, one process.
ONE_CHILD_32 = """\
<IfModule mpm_event_module>
    StartServers            1
    ServerLimit             1
    MinSpareThreads         1
    MaxSpareThreads         32
    ThreadLimit             32
    ThreadsPerChild         32
    MaxRequestWorkers       32
    MaxConnectionsPerChild  0
</IfModule>
"""


def test_blocking_requests_in_one_process_all_run_at_once(apache, mode):
    # Only a few threads per GIL are let into Python while it is busy (python/admission.rs);
    # threads that block in the application must not make that a limit on blocking work.
    pool = "WSGIDaemonProcess blocking processes=1 threads=32\nWSGIProcessGroup blocking\n"
    srv = apache((pool if mode == "daemon" else "") + CONF, mpm="event", mpm_config=ONE_CHILD_32)
    results, elapsed = concurrently(srv.port, 30, warm_up="/sleep?t=0.05", path="/sleep?t=0.5")
    assert all(status == 200 for status, _ in results), results
    # two at a time would take 7.5 s
    assert elapsed < 2.0, f"30 x 0.5 s requests in one process took {elapsed:.2f}s"
    assert len({body.split()[1] for _, body in results}) == 1
    assert len({body.split()[2] for _, body in results}) >= 25


def parse_wrk(out):
    m = re.search(r"(\d+) requests in", out)
    requests_done = int(m.group(1)) if m else 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "requests": requests_done,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "connect": int(sock.group(1)) if sock else 0,
        "read": int(sock.group(2)) if sock else 0,
        "write": int(sock.group(3)) if sock else 0,
        "timeout": int(sock.group(4)) if sock else 0,
    }


def wrk(srv, seconds, connections=64, threads=2, path="/hello", background=False):
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
           "--timeout", "10s", srv.url(path)]
    if background:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=seconds + 60)
    assert res.returncode == 0, res.stdout
    return res.stdout


@needs_wrk
@pytest.mark.slow
def test_sustained_load_without_errors(apache):
    srv = apache(CONF, mpm="event", mpm_config=EVENT_FIXED)
    assert one_request(srv.port, "/hello") == (200, b"Hello World!")
    out = wrk(srv, WRK_SECONDS)
    stats = parse_wrk(out)
    print(out)
    assert stats["requests"] > 0, out
    assert stats["non2xx"] == 0, out
    assert (stats["connect"], stats["read"], stats["write"], stats["timeout"]) == (0, 0, 0, 0), out
    assert srv.alive()
    assert not srv.crash_lines(), srv.crash_lines()
    assert one_request(srv.port, "/hello") == (200, b"Hello World!")


@needs_wrk
@pytest.mark.slow
def test_graceful_restart_under_load(apache):
    srv = apache(CONF, mpm="event", mpm_config=EVENT_FIXED)
    assert one_request(srv.port, "/hello")[0] == 200
    proc = wrk(srv, 12, connections=32, background=True)
    try:
        time.sleep(3)
        old_children = srv.child_pids()
        srv.graceful()
        time.sleep(2)
        srv.graceful()
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stats = parse_wrk(out)
    print(out)
    assert stats["requests"] > 0, out
    assert stats["non2xx"] == 0, out
    assert stats["timeout"] == 0, out
    assert srv.alive()
    assert not srv.crash_lines(), srv.crash_lines()
    for _ in range(20):
        assert one_request(srv.port, "/hello") == (200, b"Hello World!")
    # the old generation went away
    deadline = time.monotonic() + 15
    while old_children & srv.child_pids():
        assert time.monotonic() < deadline, "old children did not exit after graceful"
        time.sleep(0.1)


@needs_wrk
@pytest.mark.slow
@pytest.mark.parametrize("path", ["/hello", "/sleep?t=0.2"])
def test_stop_under_load(apache, path):
    srv = apache(CONF, mpm="event", mpm_config=EVENT_FIXED)
    assert one_request(srv.port, "/hello")[0] == 200
    proc = wrk(srv, 20, connections=32, path=path, background=True)
    try:
        time.sleep(3)
        assert srv.alive()
        t0 = time.monotonic()
        srv.stop()  # raises if anything is left after 10 s, or a child crashed
        assert time.monotonic() - t0 < 10
        assert not srv.pids()
    finally:
        proc.kill()
        proc.communicate()
    with pytest.raises(requests.ConnectionError):
        requests.get(srv.url("/hello"), timeout=5)
