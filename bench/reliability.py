"""Reliability under faults, a soak, and a raw-HTTP fuzzer against a live server.

    make reliability                                   (everything, ~8 minutes)
    /opt/mod_wsgi_rs/venv/bin/python bench/reliability.py faults [--server mod_wsgi]
    /opt/mod_wsgi_rs/venv/bin/python bench/reliability.py soak --seconds 300
    /opt/mod_wsgi_rs/venv/bin/python bench/reliability.py fuzz --seconds 60

Prints figures; asserts nothing (the pass/fail checks of the same faults are tests in
tests/test_reliability.py). Every server is a real /usr/sbin/apache2 on 127.0.0.1 made by
tests/harness; `--server mod_wsgi` runs the same scenario against mod_wsgi 6 from the test
venv where it applies.

faults  daemon mode (2 processes x 10 threads, memory-limit 1 GB, maximum-requests
        20000), 16 client threads on /hello while, in turn: kill -9 of a daemon process,
        touch of the script, a graceful restart, a request that kills its process, a
        request that allocates past memory-limit, and (all along) recycling after
        maximum-requests. Per fault: requests, failures, the longest gap without a
        successful answer (recovery).
soak    daemon mode, mixed load (hello, Flask, 1 MB upload, a streamed response) for
        --seconds; RSS of every Apache child and daemon process at the start and the end.
fuzz    both modes: mutated requests (bit flips, cut-offs, bad chunking, huge and NUL-laden
        headers, pipelining) over raw sockets for --seconds each; after every 200 of them
        the server must still answer /hello. Counts executions, answers by status, and
        crashed children (from the error log and cores).
"""

import argparse
import os
import random
import re
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import harness  # noqa: E402
from harness import daemon as hd  # noqa: E402
from harness import differential as dt  # noqa: E402

CONF = """\
WSGISocketPrefix @ROOT@/run/wsgi
WSGIDaemonProcess rel processes=2 threads=10
WSGIProcessGroup rel
WSGIScriptAlias /hello @APPS@/hello.wsgi
WSGIScriptAlias /m @APPS@/misbehave.wsgi
WSGIScriptAlias /flask @APPS@/flask_app.wsgi
WSGIScriptAlias /up @APPS@/upload_counter.wsgi
WSGIScriptAlias /stream @APPS@/stream.wsgi
"""


# faults also recycle processes (maximum-requests) and cap their memory (memory-limit)
FAULTS_CONF = CONF.replace("processes=2 threads=10", "processes=2 threads=10 memory-limit=1000000000 maximum-requests=20000")


def module_so(server):
    return dt.reference_module_so() if server == "mod_wsgi" else None


def start(server, fragment=CONF, **kw):
    srv = harness.Apache(fragment, module_so=module_so(server), name=f"rel-{server}", **kw)
    return srv.start()


class Load:
    """Client threads hitting one URL; records (time, ok, why) of every request."""

    def __init__(self, url, threads):
        self.url, self.results, self.stop = url, [], threading.Event()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]

    def run(self):
        with requests.Session() as s:
            while not self.stop.is_set():
                try:
                    status = s.get(self.url, timeout=30).status_code
                    ok, why = status == 200, str(status)
                except requests.RequestException as e:
                    ok, why = False, type(e).__name__
                self.results.append((time.monotonic(), ok, why))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(40)


def window(results, start, end):
    """(requests, failures, {why: count} of the failures, longest gap without a success)."""
    part = [(t, ok, why) for t, ok, why in results if start <= t < end]
    whys = {}
    for _, ok, why in part:
        if not ok:
            whys[why] = whys.get(why, 0) + 1
    gap, last = 0.0, start
    for t, ok, _ in part:
        if ok:
            gap, last = max(gap, t - last), t
    return len(part), sum(whys.values()), whys, max(gap, end - last if not part else gap)


def faults(args):
    srv = start(args.server, FAULTS_CONF)
    try:
        requests.get(srv.url("/hello"), timeout=30)
        steps = []

        def kill9():
            pid = max(hd.pool_pids(srv, "rel") or hd.titled("rel") or {0})
            if pid:
                os.kill(pid, signal.SIGKILL)

        def touch():
            script = srv.apps / "hello.wsgi"
            later = time.time() + 1
            os.utime(script, (later, later))

        def poison():
            try:
                requests.get(srv.url("/m/exit"), timeout=30)
            except requests.RequestException:
                pass

        hog_status = []

        def hog():
            try:
                hog_status.append(requests.get(srv.url("/m/hog"), timeout=30).status_code)
            except requests.RequestException as e:
                hog_status.append(type(e).__name__)

        plan = [("kill -9 of a daemon process", kill9), ("touch of the script", touch),
                ("graceful restart", srv.graceful), ("a request that kills its process", poison),
                ("a request past memory-limit", hog), ("maximum-requests recycling", lambda: None)]
        with Load(srv.url("/hello"), args.threads) as load:
            time.sleep(2)
            for name, act in plan:
                t0 = time.monotonic()
                act()
                time.sleep(args.spacing)
                steps.append((name, t0, time.monotonic()))
        print(f"faults under load ({args.server}, daemon processes=2 threads=10, "
              f"{args.threads} client threads):")
        for name, t0, t1 in steps:
            n, failed, whys, gap = window(load.results, t0, t1)
            why = f"  ({', '.join(f'{k} {v}' for k, v in sorted(whys.items()))})" if whys else ""
            print(f"  {name:34s} requests {n:6d}  failed {failed:4d}  longest gap {gap * 1000:7.1f} ms{why}")
        total = len(load.results)
        print(f"  {'all':34s} requests {total:6d}  failed {sum(1 for r in load.results if not r[1]):4d}")
        log = srv.error_log()
        print(f"  processes killed by the poison request: {len(re.findall(r'exited with status 1', log))}")
        print(f"  the request past memory-limit got: {hog_status}")
        started = len(re.findall(r"ready with \d+ threads", log))
        print(f"  daemon processes started (2 at first; then replacements, generations and "
              f"maximum-requests recycling): {started}")
    finally:
        srv.cleanup()


def rss_of(srv):
    return {p: harness.rss_kb(p) for p in sorted(srv.pids()) if p != srv.parent_pid}


def soak(args):
    srv = start(args.server)
    stop = threading.Event()
    counts = {"requests": 0, "failed": 0}
    upload = b"u" * (1 << 20)

    def client(n):
        with requests.Session() as s:
            paths = ["/hello", "/flask/", "/up", "/stream?n=20&delay=0&size=10240"]
            i = n
            while not stop.is_set():
                path = paths[i % len(paths)]
                i += 1
                try:
                    if path == "/up":
                        r = s.post(srv.url(path), data=upload, timeout=60)
                    else:
                        r = s.get(srv.url(path), timeout=60)
                    ok = r.status_code == 200
                except requests.RequestException:
                    ok = False
                counts["requests"] += 1
                counts["failed"] += not ok

    try:
        for p in ("/hello", "/flask/", "/stream?n=1"):
            requests.get(srv.url(p), timeout=30)
        threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(8)]
        for t in threads:
            t.start()
        time.sleep(min(10, args.seconds / 10))
        before = rss_of(srv)
        time.sleep(args.seconds)
        after = rss_of(srv)
        stop.set()
        for t in threads:
            t.join(70)
        print(f"soak ({args.server}, daemon mode, mixed load, {args.seconds:.0f} s): "
              f"{counts['requests']} requests, {counts['failed']} failed")
        for pid in sorted(set(before) | set(after)):
            a, b = before.get(pid), after.get(pid)
            drift = f"{(b - a) / 1024:+7.1f} MB" if a and b else "(started or ended meanwhile)"
            print(f"  pid {pid:7d}  RSS {((a or 0) / 1024):7.1f} -> {((b or 0) / 1024):7.1f} MB  {drift}")
    finally:
        srv.cleanup()


SEEDS = [
    b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"POST /up HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /up HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"GET /flask/hello/x?a=1 HTTP/1.0\r\n\r\n",
    b"HEAD /stream?n=3 HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
]


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        pos = rng.randrange(len(data) + 1)
        if op == 0 and data:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif op == 1:
            data[pos:pos] = bytes([rng.choice(b"\x00\r\n :;\xff%")])
        elif op == 2:
            del data[pos:pos + rng.randint(1, 8)]
        elif op == 3:
            data[pos:pos] = b"X-Big: " + b"a" * rng.choice([100, 8000, 20000]) + b"\r\n"
        elif op == 4:
            data = data[:pos]                          # cut off
        elif op == 5:
            data[pos:pos] = rng.choice([b"zz\r\n", b"ffffffffffffffffff\r\n", b"-1\r\n"])
        else:
            data += rng.choice(SEEDS)                  # pipelining
    return bytes(data)


def fuzz_one(srv, rng, stats, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        request = mutate(rng, rng.choice(SEEDS))
        try:
            with socket.create_connection(("127.0.0.1", srv.port), timeout=1) as s:
                s.sendall(request)
                s.shutdown(socket.SHUT_WR)
                head = s.recv(64)
            status = head[9:12].decode("latin-1") if head.startswith(b"HTTP/") else "none"
        except OSError as e:
            status = type(e).__name__
        stats[status] = stats.get(status, 0) + 1
        stats["executions"] = stats.get("executions", 0) + 1
        if stats["executions"] % 200 == 0:
            ok = requests.get(srv.url("/hello"), timeout=30).status_code == 200
            stats["health checks failed"] = stats.get("health checks failed", 0) + (not ok)


def fuzz(args):
    rng = random.Random(args.seed)
    for mode in harness.MODES:
        fragment = CONF if mode == "daemon" else "\n".join(
            l for l in CONF.splitlines() if not l.startswith(("WSGIDaemonProcess", "WSGIProcessGroup")))
        srv = start(args.server, fragment)
        stats = {}
        try:
            fuzz_one(srv, rng, stats, args.seconds)
            crashed = srv.crash_lines()
        finally:
            srv.cleanup()
        print(f"raw-HTTP fuzz ({args.server}, {mode} mode, {args.seconds:.0f} s, seed {args.seed}): "
              f"{stats.pop('executions', 0)} executions, {len(crashed)} crash lines, "
              f"{stats.pop('health checks failed', 0)} failed health checks")
        print("  answers: " + ", ".join(f"{k}: {v}" for k, v in sorted(stats.items())))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", nargs="*", help="faults, soak, fuzz (default: all three)")
    ap.add_argument("--server", choices=["ours", "mod_wsgi"], default="ours")
    ap.add_argument("--seconds", type=float, default=None,
                    help="soak duration (default 300) / fuzz time per mode (default 60)")
    ap.add_argument("--threads", type=int, default=16, help="client threads in faults")
    ap.add_argument("--spacing", type=float, default=3.0, help="seconds between faults")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    todo = args.what or ["faults", "soak", "fuzz"]
    unknown = [w for w in todo if w not in ("faults", "soak", "fuzz")]
    if unknown:
        ap.error(f"unknown part {unknown[0]!r}: choose faults, soak or fuzz")
    for what in todo:
        run = {"faults": faults, "soak": soak, "fuzz": fuzz}[what]
        seconds = args.seconds
        if seconds is None:
            args.seconds = 300.0 if what == "soak" else 60.0
        run(args)
        args.seconds = seconds


if __name__ == "__main__":
    main()
