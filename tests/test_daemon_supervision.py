"""Supervision of daemon processes (reference §5.1, §5.7, §5.8; DESIGN §4):
kill -9 under load, a pool that crashes while starting, Apache graceful
restart and stop. Figures are printed (pytest -s)."""

import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid

import pytest

from harness import daemon as hd
from harness.apache import _proc_state

PROBE = "@APPS@/daemon_probe.wsgi"

needs_wrk = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")


def unique(prefix):
    return prefix + uuid.uuid4().hex[:5]


@needs_wrk
@pytest.mark.slow
@pytest.mark.parametrize("processes", [1, 2])
def test_kill_9_under_load(apache, processes):
    name = unique("k")
    srv = apache(f"""\
WSGIDaemonProcess {name} processes={processes} threads=5 display-name=%{{GROUP}}
WSGIScriptAlias /hello @APPS@/hello.wsgi process-group={name}
WSGIScriptAlias /probe {PROBE} process-group={name}
""", mpm_config=hd.EVENT_FIXED)
    assert hd.get(srv.port, "/hello")[0] == 200
    wrk = subprocess.Popen(
        ["wrk", "-t2", "-c16", "-d10s", "--timeout", "10s", srv.url("/hello")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(3)
        old = hd.titled(name)
        assert len(old) == processes, old
        victim = min(old)
        mark = srv.log_mark()
        t_kill = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        # poll until a process that did not exist before answers
        recovered = None
        polls = 0
        while time.monotonic() - t_kill < 10:
            polls += 1
            try:
                status, _, body = hd.get(srv.port, "/probe?mode=pid", timeout=10)
            except OSError:
                continue
            if status == 200 and int(body) not in old:
                recovered = time.monotonic() - t_kill
                new_pid = int(body)
                break
        out, _ = wrk.communicate(timeout=60)
    finally:
        if wrk.poll() is None:
            wrk.kill()
            wrk.communicate()
    stats = hd.parse_wrk(out)
    socket_errors = stats["connect"] + stats["read"] + stats["write"] + stats["timeout"]
    failed = stats["non2xx"] + socket_errors
    pct = 100.0 * failed / max(stats["requests"], 1)
    print(out)
    print(f"kill -9 of 1 of {processes} daemon process(es) under wrk -t2 -c16 -d10s: "
          f"replacement {new_pid if recovered else None} answering after "
          f"{recovered if recovered is None else round(recovered, 3)} s ({polls} polls); "
          f"{stats['requests']} requests, non-2xx {stats['non2xx']}, "
          f"socket errors {socket_errors}, failed {pct:.3f} %")
    srv.wait_for_log(rf"'{name}' \(pid {victim}\) was killed by signal 9", mark)
    assert recovered is not None, "no new daemon process answered within 10 s"
    assert recovered < 1.0
    assert stats["requests"] > 0, out
    assert pct < 0.5, out
    assert len(hd.titled(name)) == processes


def test_kill_9_retries_unanswered_idempotent_requests(apache):
    name = unique("r")
    srv = apache(f"""\
WSGIDaemonProcess {name} processes=1 threads=5 display-name=%{{GROUP}}
WSGIScriptAlias /probe {PROBE} process-group={name}
""")
    assert hd.get(srv.port, "/probe?mode=pid")[0] == 200
    (victim,) = hd.titled(name)
    results = []

    def one(i):
        try:
            results.append(hd.get(srv.port, "/probe?mode=sleep&t=1.5", timeout=20))
        except OSError as e:
            results.append((None, {}, repr(e).encode()))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.5)  # all four are running in the daemon
    os.kill(victim, signal.SIGKILL)
    for t in threads:
        t.join(30)
    print(f"4 GETs in flight at kill -9: {[(s, b[:20]) for s, _, b in results]}")
    assert [s for s, _, _ in results] == [200] * 4, results
    pids = {int(b.split()[1]) for _, _, b in results}
    assert victim not in pids


def test_pool_crashing_at_start_is_restarted_with_growing_delays(apache):
    name = unique("c")
    t0 = time.monotonic()
    srv = apache(f"""\
WSGIDaemonProcess {name} threads=2
WSGIImportScript @APPS@/daemon/crash_at_start.py process-group={name} application-group=%{{GLOBAL}}
WSGIScriptAlias /hello @APPS@/hello.wsgi
""")
    time.sleep(max(0.0, 5 - (time.monotonic() - t0)))
    log = srv.error_log()
    rx = re.compile(rf"daemon process '{name}' \(pid (\d+)\) exited with status 3 during start-up; "
                    rf"next start in ([\d.]+)")
    hits = rx.findall(log)
    delays = [float(d) for _, d in hits]
    print(f"crashing pool: {len(hits)} restarts in the first 5 s, delays {delays}")
    assert 2 <= len(hits) <= 8, log[-5000:]
    assert delays == sorted(delays) and delays[-1] > delays[0], delays
    # Apache itself is fine
    assert hd.get(srv.port, "/hello")[0] == 200
    assert srv.alive()


def wait_gone(pids, timeout):
    """Seconds until none of pids is alive (zombies count as gone)."""
    t0 = time.monotonic()
    hd.wait_until(lambda: all(_proc_state(p) in (None, "Z") for p in pids),
                  timeout, what=f"exit of {sorted(pids)}")
    return time.monotonic() - t0


def test_graceful_restart_replaces_daemons(apache):
    name = unique("g")
    srv = apache(f"""\
WSGIDaemonProcess {name} processes=2 threads=2 display-name=%{{GROUP}} shutdown-timeout=2
WSGIScriptAlias /probe {PROBE} process-group={name}
""")
    assert hd.get(srv.port, "/probe?mode=pid")[0] == 200
    old = hd.titled(name)
    old_sup = hd.supervisors(srv)
    assert len(old) == 2
    t0 = time.monotonic()
    srv.graceful()
    gone = wait_gone(old | set(old_sup.values()), 2 + 5)
    print(f"graceful: old daemons {sorted(old)} gone {time.monotonic() - t0:.2f}s after "
          f"apache2 -k graceful")
    status, _, body = hd.get(srv.port, "/probe?mode=pid")
    assert status == 200
    new = hd.wait_until(lambda: hd.titled(name) if len(hd.titled(name)) == 2 else None, 10,
                        what="two new daemons")
    assert not new & old
    assert int(body) in new
    assert gone < 7


def test_stop_with_a_request_in_flight_leaves_nothing(apache):
    name = unique("s")
    srv = apache(f"""\
WSGIDaemonProcess {name} processes=2 threads=2 display-name=%{{GROUP}} shutdown-timeout=2
WSGIScriptAlias /probe {PROBE} process-group={name}
""")
    assert hd.get(srv.port, "/probe?mode=pid")[0] == 200
    daemons = hd.titled(name)
    everything = hd.descendants(srv.parent_pid) | {srv.parent_pid}
    socks = hd.sockets(srv)
    assert len(daemons) == 2 and socks
    result = {}

    def slow():
        try:
            result["r"] = hd.get(srv.port, "/probe?mode=sleep&t=60", timeout=30)
        except OSError as e:
            result["r"] = e

    th = threading.Thread(target=slow)
    th.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    srv.stop()   # SIGTERM to the parent; fails if Apache escalates or anything is left
    wait_gone(everything, 2 + 5)
    took = time.monotonic() - t0
    th.join(30)
    print(f"apache2 stop with a 60 s request in flight (shutdown-timeout=2): all "
          f"{len(everything)} processes gone after {took:.2f}s; client got {result.get('r')!r:.80}")
    assert not hd.titled(name)
    assert not hd.ps_lines(str(srv.conf))
    assert not hd.ps_lines(f"(wsgi:{name})")
    assert hd.sockets(srv) == [], "sockets removed after stop"
    assert took < 2 + 5
