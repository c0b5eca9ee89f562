"""WSGIDaemonProcess options at run time (reference §1.4, §5).

One Apache with one small pool per option (tests/apps/daemon_probe.wsgi
reports what the daemon process sees). Timings are printed (pytest -s).
"""

import json
import math
import os
import subprocess
import threading
import time
import uuid

import pytest

import harness
from harness import daemon as hd

PROBE = "@APPS@/daemon_probe.wsgi"

POOLS = {
    "mt": "threads=3",
    "single": "processes=1 threads=1",
    "multi": "processes=2 threads=1",
    "nobody": "user=nobody group=nogroup home=/tmp threads=2",
    "homed": ("home=@ROOT@/home python-path=@ROOT@/extra1:@ROOT@/extra2 lang=C.UTF-8 "
              "locale=C.UTF-8 umask=0027 threads=2"),
    "limits": ("cpu-time-limit=100 memory-limit=2000000000 virtual-memory-limit=8000000000 "
               "cpu-priority=5 threads=2"),
    "venv": "python-home=@ROOT@/venv2 threads=2",
    "disp": "display-name=%{GROUP} threads=1",
    "bufs": "listen-backlog=50 send-buffer-size=65536 receive-buffer-size=131072 threads=2",
    "hbuf": "header-buffer-size=8192 threads=2",
    "maxreq": "maximum-requests=3 processes=1 threads=1",
    "rint": "restart-interval=2 threads=2",
    "inact": "inactivity-timeout=2 threads=2",
    "rtkill": "request-timeout=2 threads=2 graceful-timeout=1",
    "rtint": "request-timeout=2 interrupt-timeout=2 threads=2",
    "queue": "threads=1 queue-timeout=1",
    "sunok": "script-user=root threads=1",
    "subad": "script-user=nobody threads=1",
    "sgbad": "script-group=nogroup threads=1",
}


def conf(disp_name):
    lines = []
    for name, opts in POOLS.items():
        pool = disp_name if name == "disp" else name
        lines.append(f"WSGIDaemonProcess {pool} {opts}")
        lines.append(f"WSGIScriptAlias /{name} {PROBE} process-group={pool}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def srv(module_apache):
    disp = "d" + uuid.uuid4().hex[:5]  # unique: ps is shared with other test runs
    s = module_apache(conf(disp), start=False)
    s.disp_name = disp
    for d in ("home", "extra1", "extra2"):
        (s.root / d).mkdir()
        os.chmod(s.root / d, 0o755)
    # a second virtualenv (python-home= of one pool), from the Python Apache embeds
    venv2 = s.root / "venv2"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(venv2)],
                   check=True, capture_output=True)
    harness.apache.make_world_readable(venv2)
    return s.start()


def get(srv, path, timeout=30.0, **kw):
    return hd.get(srv.port, path, timeout=timeout, **kw)


def info(srv, pool):
    status, _, body = get(srv, f"/{pool}?mode=info")
    assert status == 200, body[:2000]
    return json.loads(body)


def pid_of(srv, pool, timeout=30.0):
    status, _, body = get(srv, f"/{pool}?mode=pid", timeout=timeout)
    assert status == 200, (status, body[:2000])
    return int(body)


# ---------------------------------------------------------- processes/threads

def test_threads_and_process_group_in_environ(srv):
    i = info(srv, "mt")
    assert i["environ"]["mod_wsgi.process_group"] == "mt"
    assert i["module_process_group"] == "mt"
    assert i["environ"]["wsgi.multithread"] is True          # threads=3
    assert i["environ"]["wsgi.multiprocess"] is False        # processes= not given
    assert i["environ"]["wsgi.run_once"] is False


def test_single_thread_given_processes(srv):
    i = info(srv, "single")
    assert i["environ"]["mod_wsgi.process_group"] == "single"
    assert i["environ"]["wsgi.multithread"] is False         # threads=1
    assert i["environ"]["wsgi.multiprocess"] is True         # processes=1 given


def test_two_processes_serve_requests(srv):
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(4) as ex:
        res = list(ex.map(lambda _: get(srv, "/multi?mode=sleep&t=0.8"), range(4)))
    assert all(s == 200 for s, _, _ in res), res
    pids = {int(b.split()[1]) for _, _, b in res}
    print(f"processes=2 threads=1: 4 concurrent requests served by pids {sorted(pids)}")
    assert len(pids) == 2, pids
    assert pids == hd.pool_pids(srv, "multi")
    i = info(srv, "multi")
    assert i["environ"]["wsgi.multiprocess"] is True
    assert i["environ"]["wsgi.multithread"] is False


# ------------------------------------------------------------- identity, env

def test_user_and_group(srv):
    i = info(srv, "nobody")
    assert (i["uid"], i["euid"], i["gid"]) == (65534, 65534, 65534)
    assert i["HOME"] == "/nonexistent"       # the passwd home of nobody
    assert 33 not in i["groups"], "www-data's group must be dropped"
    # the other pools run as Apache's User
    assert info(srv, "mt")["uid"] == 33


def test_home_python_path_lang_locale_umask(srv):
    i = info(srv, "homed")
    home = str(srv.root / "home")
    assert i["cwd"] == home
    assert i["path"][0] == home
    assert i["path"][1:3] == [str(srv.root / "extra1"), str(srv.root / "extra2")], i["path"][:5]
    assert i["LANG"] == "C.UTF-8"
    assert i["LC_ALL"] == "C.UTF-8"
    assert i["umask"] == 0o027
    # a pool without these options
    j = info(srv, "mt")
    assert j["umask"] != 0o027
    assert j["LC_ALL"] is None
    assert home not in j["path"]


def test_python_home_per_pool(srv):
    i = info(srv, "venv")
    assert i["prefix"] == str(srv.root / "venv2")
    assert info(srv, "mt")["prefix"] == harness.default_python_home()


def test_cpu_memory_limits_and_priority(srv):
    i = info(srv, "limits")
    cpu_soft, cpu_hard = i["rlimits"]["RLIMIT_CPU"]
    assert cpu_soft == 100
    assert cpu_hard > 100      # mod_wsgi: 100 + 1 + shutdown-timeout
    assert i["rlimits"]["RLIMIT_DATA"] == [2000000000, 2000000000]
    assert i["rlimits"]["RLIMIT_AS"] == [8000000000, 8000000000]
    assert i["nice"] == 5
    j = info(srv, "mt")
    assert j["rlimits"]["RLIMIT_CPU"][0] != 100
    assert j["nice"] == 0


def test_display_name_in_ps(srv):
    pid = pid_of(srv, "disp")
    lines = hd.ps_lines(f"(wsgi:{srv.disp_name})")
    print("\n".join(lines))
    assert any(l.split()[0] == str(pid) for l in lines), lines
    # pools without display-name keep Apache's command line
    other = pid_of(srv, "mt")
    assert str(srv.conf) in harness.apache._proc_cmdline(other)


def test_socket_buffer_and_backlog_options_serve(srv):
    i = info(srv, "bufs")
    assert i["environ"]["mod_wsgi.process_group"] == "bufs"
    status, _, body = get(srv, "/bufs?mode=download&n=8")
    assert status == 200 and len(body) == 8 << 20


def test_header_buffer_size(srv):
    status, _, body = get(srv, "/hbuf?mode=header&n=2000")
    assert status == 200, body[:500]
    mark = srv.log_mark()
    status, _, body = get(srv, "/hbuf?mode=header&n=20000")
    print(f"header of 20000 bytes with header-buffer-size=8192: {status}")
    assert status in (500, 502), (status, body[:500])
    assert b"b" * 1000 not in body
    srv.wait_for_log(r"hbuf", mark)
    # the default (32 KiB) lets it through
    status, headers, _ = get(srv, "/mt?mode=header&n=20000")
    assert status == 200
    assert len(headers["x-big"]) == 20000
    # and the pool keeps serving
    assert get(srv, "/hbuf?mode=header&n=10")[0] == 200


# ------------------------------------------------------------------ recycling

def test_maximum_requests(srv):
    pids = [pid_of(srv, "maxreq") for _ in range(7)]
    print(f"maximum-requests=3: pids of 7 requests {pids}")
    assert pids[0] == pids[1] == pids[2]
    assert pids[3] != pids[0]
    assert pids[3] == pids[4] == pids[5]
    assert pids[6] not in (pids[0], pids[3])


def test_restart_interval(srv):
    seen = []  # (time, pid)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 5.5:
        seen.append((time.monotonic() - t0, pid_of(srv, "rint")))
        time.sleep(0.1)
    changes = [t for (t, p), (_, q) in zip(seen, seen[1:]) if p != q]
    pids = list(dict.fromkeys(p for _, p in seen))
    print(f"restart-interval=2: pids {pids}, changes at {[round(t, 2) for t in changes]} s")
    assert len(pids) >= 2, seen
    assert len(pids) <= 4, f"restarted too often for restart-interval=2: {pids}"
    if len(changes) >= 2:
        gap = changes[1] - changes[0]
        assert 1.5 <= gap <= 3.5, changes


def test_inactivity_timeout(srv):
    # busy: a request every 0.5 s keeps the process
    pids = set()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 4:
        pids.add(pid_of(srv, "inact"))
        time.sleep(0.5)
    assert len(pids) == 1, f"restarted although active: {pids}"
    (before,) = pids
    # idle for longer than inactivity-timeout=2
    time.sleep(3.5)
    assert before not in hd.pool_pids(srv, "inact"), "still running after 3.5 s idle"
    after = pid_of(srv, "inact")
    print(f"inactivity-timeout=2: {before} -> {after}")
    assert after != before


def test_inactivity_timeout_is_unarmed_until_the_first_request(srv):
    # reference §5.7: the timer starts with the first activity, so an idle
    # server does not restart its fresh daemon process every few seconds
    before = pid_of(srv, "inact")
    fresh = hd.wait_until(lambda: (hd.pool_pids(srv, "inact") - {before}) or None, 8,
                          what="replacement after inactivity")
    time.sleep(5)  # more than twice inactivity-timeout=2, no request
    now = hd.pool_pids(srv, "inact")
    print(f"inactivity-timeout=2: replacement {sorted(fresh)}, 5 s later {sorted(now)}")
    assert now == fresh, "the idle replacement was restarted although it never had a request"


# ------------------------------------------------------------------- timeouts

def _timeout_bounds(timeout, threads):
    # mod_wsgi fires at timeout * (1 + ln threads); allow for either reading
    return timeout * 0.9, timeout * (1 + math.log(threads)) + 1.5


def test_request_timeout_without_interrupt_restarts_the_process(srv):
    before = pid_of(srv, "rtkill")
    mark = srv.log_mark()
    t0 = time.monotonic()
    status, _, body = get(srv, "/rtkill?mode=sleep&t=30", timeout=25)
    elapsed = time.monotonic() - t0
    print(f"request-timeout=2 (no interrupt): {status} after {elapsed:.2f}s")
    assert status == 504, body[:500]
    lo, hi = _timeout_bounds(2, 2)
    assert lo <= elapsed <= hi
    m = srv.wait_for_log(r"exceeded request-timeout", mark)
    log = srv.log_since(mark)
    assert "daemon_probe.wsgi" in log[m.start():], "the stuck thread's stack names the app"
    assert "time.sleep" in log[m.start():] or "in application" in log[m.start():], log[m.start():]
    # the next request is served, by a fresh process
    t1 = time.monotonic()
    after = pid_of(srv, "rtkill", timeout=15)
    print(f"  next request served {time.monotonic() - t1:.2f}s later by pid {after} (was {before})")
    assert after != before


def test_request_timeout_with_interrupt_raises_in_the_app(srv):
    before = pid_of(srv, "rtint")
    token = uuid.uuid4().hex
    mark = srv.log_mark()
    t0 = time.monotonic()
    status, _, body = get(
        srv, f"/rtint?mode=sleep&t=30&dir={srv.markers}&token={token}", timeout=25)
    elapsed = time.monotonic() - t0
    print(f"request-timeout=2 interrupt-timeout=2: {status} after {elapsed:.2f}s")
    assert status == 504, body[:500]
    lo, hi = _timeout_bounds(2, 2)
    assert lo <= elapsed <= hi
    marker = srv.markers / f"{token}.raised"
    hd.wait_until(marker.exists, 5, what="RequestTimeout marker")
    text = marker.read_text()
    assert "RequestTimeout" in text, text
    assert f"pid={before}" in text
    srv.wait_for_log(r"exceeded request-timeout", mark)
    assert "daemon_probe.wsgi" in srv.log_since(mark)
    # mod_wsgi 6's line for the injection
    srv.wait_for_log(r"Injected RequestTimeout into thread \d+ of daemon process 'rtint'\.", mark)
    # the process lives on and serves the next request
    assert pid_of(srv, "rtint") == before


def test_queue_timeout(srv):
    slow = {}

    def hold():
        slow["r"] = get(srv, "/queue?mode=sleep&t=3")

    before = pid_of(srv, "queue")
    th = threading.Thread(target=hold)
    th.start()
    time.sleep(0.3)
    mark = srv.log_mark()
    t0 = time.monotonic()
    status, _, body = get(srv, "/queue?mode=pid", timeout=20)
    elapsed = time.monotonic() - t0
    th.join()
    print(f"queue-timeout=1 behind a 3 s request (threads=1): {status} after {elapsed:.2f}s")
    assert status == 504, body[:500]
    assert slow["r"][0] == 200
    srv.wait_for_log(r"[Qq]ueue timeout", mark)
    assert pid_of(srv, "queue") == before


def test_connect_timeout_when_the_pool_cannot_start(apache):
    # (own Apache: a request left hanging here would also hold up the stop)
    srv = apache("WSGIDaemonProcess broken home=@ROOT@/no/such/dir connect-timeout=3 threads=1\n"
                 f"WSGIScriptAlias /broken {PROBE} process-group=broken\n")
    mark = srv.log_mark()
    t0 = time.monotonic()
    try:
        status, _, body = get(srv, "/broken?mode=pid", timeout=15)
    except TimeoutError:
        status, body = None, b"(no answer)"
    elapsed = time.monotonic() - t0
    print(f"pool that cannot start, connect-timeout=3: {status} after {elapsed:.2f}s")
    assert status == 503, (f"expected 503 within about connect-timeout=3 s; got {status} "
                           f"after {elapsed:.1f}s: {body[:300]!r}")
    assert elapsed <= 3 + 2.5, f"503 came after {elapsed:.1f}s, connect-timeout is 3"
    srv.wait_for_log(r"no/such/dir", 0)   # why the processes cannot start
    srv.wait_for_log(r"broken", mark)



def test_socket_timeout_counts_from_the_daemons_last_word(apache):
    """socket-timeout bounds how long the daemon may stay silent, on a new connection
    and on a kept one alike; connect-timeout (shorter here) bounds only the wait for a
    process to take the request."""
    srv = apache("WSGIDaemonProcess quiet threads=2 connect-timeout=1 socket-timeout=5\n"
                 f"WSGIScriptAlias /quiet {PROBE} process-group=quiet\n",
                 mpm_config=harness.ONE_EVENT_CHILD)
    # Silent for 2 s: past connect-timeout, within socket-timeout. The second request
    # goes on the connection kept from the first.
    for _ in range(2):
        status, _, body = get(srv, "/quiet?mode=sleep&t=2", timeout=30)
        assert status == 200, body[:300]
    mark = srv.log_mark()
    t0 = time.monotonic()
    status, _, _ = get(srv, "/quiet?mode=sleep&t=30", timeout=60)
    elapsed = time.monotonic() - t0
    print(f"daemon silent for 30 s, socket-timeout=5: {status} after {elapsed:.2f}s")
    assert status == 504
    assert elapsed >= 5, f"504 after {elapsed:.1f}s, before socket-timeout=5 ran out"
    srv.wait_for_log(r"Timeout when reading response from WSGI daemon process 'quiet'", mark)

# ---------------------------------------------------------------- script-user

def test_script_user_matching_owner_is_served(srv):
    assert (srv.apps / "daemon_probe.wsgi").stat().st_uid == 0
    assert get(srv, "/sunok?mode=pid")[0] == 200


@pytest.mark.parametrize("pool", ["subad", "sgbad"])
def test_script_owned_by_another_user_is_forbidden(srv, pool):
    mark = srv.log_mark()
    status, _, _ = get(srv, f"/{pool}?mode=pid")
    assert status == 403
    srv.wait_for_log(r"daemon_probe\.wsgi", mark)
