#!/usr/bin/python3
"""CPU time per request of two builds of the module, for changes too small for req/s to show
on a noisy machine (e.g. the wsgi-metrics counters every request adds to).

    /opt/mod_wsgi_rs/venv/bin/python bench/cpu_per_request.py OLD.so NEW.so [--runs 3]

For each build and mode (hello, one Apache child, daemon mode with one process), 20,000
keep-alive requests from `ab -c 4`; `perf stat -e task-clock` over every process of the
Apache tree but the parent gives the CPU spent, divided by the requests. Builds alternate,
runs repeat; prints each run and the mean. (Instruction counts would be steadier, but this
VM has no hardware counters.)
"""
import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import harness  # noqa: E402

REQUESTS = 20000


def cpu_us_per_request(so, mode):
    frag = harness.in_mode("WSGIScriptAlias /hello @APPS@/hello.wsgi\n", mode)
    srv = harness.Apache(frag, module_so=so, mpm_config=harness.ONE_EVENT_CHILD, log_level="warn", name="cpu")
    srv.start()
    try:
        url = srv.url("/hello")
        subprocess.run(["ab", "-q", "-k", "-n", "2000", "-c", "4", url], capture_output=True, check=True)
        group = subprocess.run(["pgrep", "-g", str(os.getpgid(srv.parent_pid))], capture_output=True, text=True).stdout.split()
        targets = [p for p in group if p != str(srv.parent_pid)]
        perf = subprocess.Popen(["perf", "stat", "-x,", "-e", "task-clock", "-p", ",".join(targets)],
                                stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        subprocess.run(["ab", "-q", "-k", "-n", str(REQUESTS), "-c", "4", url], capture_output=True, check=True)
        perf.send_signal(2)
        msec = float(perf.communicate()[1].strip().splitlines()[-1].split(",")[0])
        return msec * 1000 / REQUESTS
    finally:
        srv.cleanup()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    figures = {}
    for run in range(args.runs):
        for label, so in (("old", args.old), ("new", args.new)):
            for mode in harness.MODES:
                us = cpu_us_per_request(Path(so).resolve(), mode)
                figures.setdefault((label, mode), []).append(us)
                print(f"run {run + 1} {label} {mode}: {us:.0f} µs of CPU per request", flush=True)
    for mode in harness.MODES:
        old, new = (statistics.mean(figures[(label, mode)]) for label in ("old", "new"))
        print(f"{mode}: old {old:.0f} µs, new {new:.0f} µs per request ({(new / old - 1) * 100:+.1f} %)")


if __name__ == "__main__":
    main()
