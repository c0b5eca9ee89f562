"""mod_wsgi 6's telemetry (WSGITelemetryService, WSGISlowRequests, WSGITelemetryOptions)
against the real receiver, mod-wsgi-telemetry 1.1.0 (tests/requirements.txt), in both
modes: its `dump --format json` must decode every datagram we send, and what it decodes
must match the requests made; its `serve` must list our processes.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

import harness

RECEIVER = Path(sys.executable).with_name("mod_wsgi-telemetry")
INTERVAL = 0.5

# Requests made, by the status the app answers; the last kind raises (a 500).
CALLS = ([("/t?s=200", 200)] * 3 + [("/t?gc=1", 200)] + [("/t?s=404", 404)] * 2
         + [("/t?s=302", 302), ("/t?raise=1", 500)])


def fragment(mode, extra=""):
    return harness.in_mode(
        f"WSGITelemetryService unix:@ROOT@/run/telemetry.sock interval={INTERVAL}\n"
        f"WSGIScriptAlias /t @APPS@/telemetry_app.wsgi\n{extra}", mode)


class Receiver:
    """`mod_wsgi-telemetry <command>` on the test's socket, readable by www-data."""

    def __init__(self, sock, *args):
        if not RECEIVER.exists():
            pytest.fail(f"{RECEIVER} is missing: `make venv` installs mod-wsgi-telemetry (tests/requirements.txt)")
        self.sock = sock
        self.out_path = sock.with_suffix(".out")
        self.err_path = sock.with_suffix(".err")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [str(RECEIVER), *args, "--listen", f"unix:{sock}", "--socket-group", "www-data"],
                stdout=out, stderr=err, env=env)
        deadline = time.monotonic() + 30
        while not sock.exists():
            assert self.proc.poll() is None, self.err_path.read_text()
            assert time.monotonic() < deadline, "the receiver did not bind its socket"
            time.sleep(0.05)

    def stderr(self):
        return self.err_path.read_text(errors="replace")

    def records(self):
        lines = self.out_path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def wait_for(self, what, predicate, timeout=20.0):
        deadline = time.monotonic() + timeout
        while True:
            recs = self.records()
            if predicate(recs):
                return recs
            if time.monotonic() > deadline:
                kinds = sorted({(r["kind"], r["pid"]) for r in recs})
                pytest.fail(f"receiver never saw {what}; it saw {kinds}\nstderr: {self.stderr()}")
            time.sleep(0.1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def samples_of(recs, pid):
    return [r for r in recs if r["kind"] == "request_metrics" and r["pid"] == pid]


def totals(recs, pid, name):
    return sum(r["fields"][name] for r in samples_of(recs, pid))


@pytest.fixture(scope="module")
def run(mode, module_apache):
    """A live Apache reporting to `dump`, after CALLS: (srv, receiver, serving pid, records)."""
    srv = module_apache(fragment(mode), mpm_config=harness.ONE_EVENT_CHILD, start=False)
    receiver = Receiver(srv.run_dir / "telemetry.sock", "dump", "--format", "json", "--count", "0")
    try:
        srv.start()
        pid = int(requests.get(srv.url("/t"), timeout=30).text)
        for path, status in CALLS:
            assert requests.get(srv.url(path), timeout=30, allow_redirects=False).status_code == status
        made = len(CALLS) + 1
        recs = receiver.wait_for(
            f"{made} requests in pid {pid}'s samples",
            lambda recs: totals(recs, pid, "request_count") >= made)
        yield srv, receiver, pid, recs
    finally:
        receiver.stop()


def test_every_datagram_decodes(run):
    srv, receiver, pid, recs = run
    assert "decode error" not in receiver.stderr()
    assert {r["kind"] for r in recs} >= {"process_started", "request_metrics"}


def test_request_counts_and_status_classes_match_the_requests(run):
    srv, receiver, pid, recs = run
    recs = receiver.records()
    assert totals(recs, pid, "request_count") == len(CALLS) + 1
    by_class = [totals(recs, pid, f"status_{c}xx_total") for c in range(1, 6)]
    assert by_class == [0, 5, 1, 2, 1]
    # every request's times were recorded once, with a histogram entry each
    assert sum(sum(r["fields"]["request_time_buckets"]) for r in samples_of(recs, pid)) == len(CALLS) + 1
    assert totals(recs, pid, "output_bytes_total") >= len(CALLS) * len(str(pid))


def test_gc_passes_are_reported(run):
    """gc_event: the full collection ?gc=1 asked for, as generation 2, timed."""
    srv, receiver, pid, recs = run
    recs = receiver.wait_for("a generation-2 gc_event", lambda recs: any(
        r["kind"] == "gc_event" and r["pid"] == pid and r["fields"]["gc_event_generation"] == 2 for r in recs))
    events = [r["fields"] for r in recs if r["kind"] == "gc_event" and r["pid"] == pid]
    full = [e for e in events if e["gc_event_generation"] == 2]
    assert full and all(0 < e["gc_event_duration"] < 5 for e in full)
    assert all(abs(e["gc_event_start_stamp"] - time.time()) < 60 for e in events)
    assert all("interpreter_name" not in e for e in events)  # see sample::gc_event


def test_identity_of_the_serving_process(run, mode):
    srv, receiver, pid, recs = run
    started = [r for r in recs if r["kind"] == "process_started" and r["pid"] == pid]
    assert len(started) == 1 and started[0]["seq"] == 1
    for r in started + samples_of(recs, pid):
        f = r["fields"]
        assert f["process_parent_pid"] == srv.parent_pid
        assert f["hostname"] == socket.gethostname()
        assert f["apache_version"].startswith("Apache/2.4.")
        assert f["mpm_name"] == "event"
        assert f["python_version"].split(".")[:2] == [str(v) for v in sys.version_info[:2]]
        assert f["mod_wsgi_version"] == "6.1.1"
        if mode == "daemon":
            assert f["process_group"] == harness.DAEMON_POOL
        else:
            assert "process_group" not in f
    sample = samples_of(recs, pid)[-1]["fields"]
    assert sample["telemetry_interval"] == INTERVAL
    assert sample["slow_requests_threshold"] == 0.0
    assert sample["request_threads_maximum"] == (15 if mode == "daemon" else 25)
    assert len(sample["request_threads_busy_time"]) == sample["request_threads_maximum"]
    # ru_maxrss is the kernel's high-water mark, updated lazily: it may trail statm's RSS.
    assert sample["memory_rss"] > 1 << 20 and sample["memory_max_rss"] > 1 << 20


def test_samples_come_every_interval_with_a_shared_sequence(run):
    srv, receiver, pid, recs = run
    time.sleep(3 * INTERVAL)
    mine = [r for r in receiver.records() if r["pid"] == pid]
    assert [r["seq"] for r in mine] == list(range(1, len(mine) + 1))
    samples = samples_of(mine, pid)
    assert len(samples) >= 3
    for r in samples:
        assert 0.4 * INTERVAL < r["fields"]["sample_period"] < 3 * INTERVAL
        assert abs(r["stamp"] - time.time()) < 60  # epoch seconds, which the UI compares with its clock
    gaps = [b["stamp"] - a["stamp"] for a, b in zip(samples, samples[1:])]
    assert all(0.4 * INTERVAL < g < 3 * INTERVAL for g in gaps), gaps


def test_phase_times_in_each_mode(run, mode):
    srv, receiver, pid, recs = run
    busy = [r["fields"] for r in samples_of(receiver.records(), pid) if r["fields"]["request_count"]]
    assert busy
    for f in busy:
        assert f["request_time"] >= f["application_time"] > 0
        assert f["request_time_max"] >= f["request_time_min"] > 0
        assert ("queue_time" in f and "daemon_time_buckets" in f) == (mode == "daemon")


def test_apache_children_report_too_in_daemon_mode(run, mode):
    """As mod_wsgi: an Apache child that could run embedded requests reports, even when it
    only proxies to daemons (then with idle samples and no process group)."""
    srv, receiver, pid, recs = run
    children = srv.child_pids() - {pid}
    reporting = {r["pid"] for r in receiver.records() if r["kind"] == "request_metrics"}
    if mode == "daemon":
        assert reporting & children, (reporting, children)
        for child in reporting & children:
            assert totals(receiver.records(), child, "request_count") == 0
            assert all("process_group" not in r["fields"] for r in samples_of(receiver.records(), child))
    else:
        assert reporting == {pid}


def test_stop_sends_stopping_and_stopped(run, mode):
    srv, receiver, pid, recs = run
    srv.stop()
    recs = receiver.wait_for(f"process_stopped from {pid}",
                             lambda recs: any(r["kind"] == "process_stopped" and r["pid"] == pid for r in recs))
    mine = [r for r in recs if r["pid"] == pid]
    kinds = [r["kind"] for r in mine]
    assert kinds.count("process_stopping") == 1 and kinds.count("process_stopped") == 1
    assert kinds.index("process_stopping") < kinds.index("process_stopped") == len(kinds) - 1
    assert kinds[-2] == "request_metrics"  # the last sample, for the partial interval
    stopped = mine[-1]["fields"]
    assert stopped["lifetime_request_count"] == len(CALLS) + 1
    assert stopped["active_requests_at_exit"] == 0 and stopped["graceful_drain"] == 1
    assert 0 < stopped["process_uptime"] < 600
    if mode == "daemon":
        assert stopped["shutdown_reason"] == "shutdown_signal"
        assert stopped["process_group"] == harness.DAEMON_POOL
    else:
        assert "shutdown_reason" not in stopped


# ------------------------------------------------------------------- sub-interpreters

def test_sub_interpreters_are_counted_and_their_gc_reported(mode, apache):
    """Requests of every interpreter count in the process's samples, and each interpreter's
    collections are reported (mod_wsgi would tag them with interpreter_name; see
    sample::gc_event)."""
    srv = apache(fragment(mode, "WSGIScriptAlias /sub @APPS@/telemetry_app.wsgi application-group=web\n"),
                 mpm_config=harness.ONE_EVENT_CHILD, start=False)
    receiver = Receiver(srv.run_dir / "telemetry.sock", "dump", "--format", "json", "--count", "0")
    try:
        srv.start()
        pid = int(requests.get(srv.url("/t"), timeout=30).text)
        assert int(requests.get(srv.url("/sub?gc=1"), timeout=30).text) == pid
        recs = receiver.wait_for("both requests and the sub-interpreter's full collection", lambda recs: (
            totals(recs, pid, "request_count") == 2
            and any(r["kind"] == "gc_event" and r["pid"] == pid and r["fields"]["gc_event_generation"] == 2 for r in recs)))
    finally:
        receiver.stop()
    assert all("interpreter_name" not in r["fields"] for r in recs)
    assert totals(recs, pid, "status_2xx_total") == 2


# ---------------------------------------------------------------------------- prefork

def test_prefork_children_report_one_slot_each(apache):
    srv = apache(fragment("embedded"), mpm="prefork", start=False)
    receiver = Receiver(srv.run_dir / "telemetry.sock", "dump", "--format", "json", "--count", "0")
    try:
        srv.start()
        pid = int(requests.get(srv.url("/t"), timeout=30).text)
        children = srv.child_pids()
        recs = receiver.wait_for("a sample from every child", lambda recs: children <= {
            r["pid"] for r in recs if r["kind"] == "request_metrics"})
        recs = receiver.wait_for(f"{pid}'s request", lambda recs: totals(recs, pid, "request_count") == 1)
    finally:
        receiver.stop()
    for r in recs:
        if r["kind"] == "request_metrics" and r["pid"] in children:
            f = r["fields"]
            assert (f["mpm_name"], f["request_threads_maximum"], len(f["request_threads_completed"])) == ("prefork", 1, 1)
    assert sum(totals(recs, child, "request_count") for child in children) == 1


# ------------------------------------------------------- daemon restarts and shutdown

def daemon_fragment(options):
    return (f"WSGISocketPrefix @ROOT@/run/wsgi\nWSGIDaemonProcess tele processes=1 threads=4 {options}\n"
            f"WSGIProcessGroup tele\n"
            f"WSGITelemetryService unix:@ROOT@/run/telemetry.sock interval={INTERVAL}\n"
            f"WSGIScriptAlias /t @APPS@/telemetry_app.wsgi\n")


def test_a_daemon_restart_is_stopping_stopped_then_a_new_pid(apache):
    """maximum-requests=3: the old process says why it stops, the new one starts afresh."""
    srv = apache(daemon_fragment("maximum-requests=3"), mpm_config=harness.ONE_EVENT_CHILD, start=False)
    receiver = Receiver(srv.run_dir / "telemetry.sock", "dump", "--format", "json", "--count", "0")
    try:
        srv.start()
        first = [int(requests.get(srv.url("/t"), timeout=30).text) for _ in range(3)]
        assert len(set(first)) == 1
        old = first[0]
        recs = receiver.wait_for(f"{old}'s process_stopped", lambda recs: any(
            r["kind"] == "process_stopped" and r["pid"] == old for r in recs))
        new = int(requests.get(srv.url("/t"), timeout=30).text)
        assert new != old
        recs = receiver.wait_for(f"a sample of {new} with its request",
                                 lambda recs: totals(recs, new, "request_count") == 1)
    finally:
        receiver.stop()
    mine = [r for r in recs if r["pid"] == old]
    stopping = [r["fields"] for r in mine if r["kind"] == "process_stopping"]
    stopped = [r["fields"] for r in mine if r["kind"] == "process_stopped"]
    assert [f["shutdown_reason"] for f in stopping + stopped] == ["maximum_requests"] * 2
    assert stopped[0]["lifetime_request_count"] == 3 and stopped[0]["graceful_drain"] == 1
    assert totals(recs, old, "request_count") == 3
    started = [r for r in recs if r["kind"] == "process_started" and r["pid"] == new]
    assert len(started) == 1 and started[0]["seq"] == 1
    assert started[0]["fields"]["process_group"] == "tele"


def test_a_daemon_cut_off_at_shutdown_says_so(apache):
    """A request still running when shutdown-timeout ends: STOPPED with graceful_drain 0
    and the request counted as active at exit."""
    srv = apache(daemon_fragment("shutdown-timeout=1"), mpm_config=harness.ONE_EVENT_CHILD, start=False)
    receiver = Receiver(srv.run_dir / "telemetry.sock", "dump", "--format", "json", "--count", "0")
    try:
        srv.start()
        pid = int(requests.get(srv.url("/t"), timeout=30).text)
        cut = []

        def long_request():
            try:
                requests.get(srv.url("/t?sleep=20"), timeout=60)
            except requests.RequestException as e:  # the daemon exits under it
                cut.append(e)

        slow = threading.Thread(target=long_request, daemon=True)
        slow.start()
        receiver.wait_for("the long request running", lambda recs: any(
            r["kind"] == "request_metrics" and r["pid"] == pid and any(r["fields"]["request_threads_current_elapsed"])
            for r in recs))
        srv.stop(check_crash=False)
        recs = receiver.wait_for(f"{pid}'s process_stopped", lambda recs: any(
            r["kind"] == "process_stopped" and r["pid"] == pid for r in recs))
    finally:
        receiver.stop()
    slow.join(30)
    assert cut, "the long request was cut off"
    stopping = [r["fields"] for r in recs if r["pid"] == pid and r["kind"] == "process_stopping"]
    stopped = [r["fields"] for r in recs if r["pid"] == pid and r["kind"] == "process_stopped"]
    assert stopping[0]["active_requests_at_decision"] == 1
    assert (stopped[0]["graceful_drain"], stopped[0]["active_requests_at_exit"]) == (0, 1)
    assert stopped[0]["lifetime_request_count"] == 1


def test_restrict_embedded_children_do_not_report(apache):
    srv = apache("WSGIRestrictEmbedded On\n" + daemon_fragment(""), mpm_config=harness.ONE_EVENT_CHILD, start=False)
    receiver = Receiver(srv.run_dir / "telemetry.sock", "dump", "--format", "json", "--count", "0")
    try:
        srv.start()
        pid = int(requests.get(srv.url("/t"), timeout=30).text)
        recs = receiver.wait_for("three samples", lambda recs: len(samples_of(recs, pid)) >= 3)
    finally:
        receiver.stop()
    assert {r["pid"] for r in recs} == {pid}


# ------------------------------------------------------------------------ slow requests

SLOW = 0.3


def test_slow_requests_beat_while_running_then_complete(mode, apache):
    """WSGISlowRequests: a request past the threshold is reported at each tick while it
    runs (state 0), then once completed (state 1); a quick one is not reported."""
    srv = apache(fragment(mode, f"WSGISlowRequests {SLOW}\nWSGITelemetryOptions CaptureUserAgent\n"),
                 mpm_config=harness.ONE_EVENT_CHILD, start=False)
    receiver = Receiver(srv.run_dir / "telemetry.sock", "dump", "--format", "json", "--count", "0")
    try:
        srv.start()
        pid = int(requests.get(srv.url("/t"), timeout=30).text)
        reply = requests.get(srv.url("/t/slow?sleep=1.6&secret=q"), headers={"User-Agent": "probe/1.0"}, timeout=30)
        assert int(reply.text) == pid
        recs = receiver.wait_for("a completed slow record", lambda recs: any(
            r["kind"] == "slow_request" and r["fields"]["slow_record_state"] == 1 for r in recs))
    finally:
        receiver.stop()
    slow = [r for r in recs if r["kind"] == "slow_request"]
    assert {r["pid"] for r in slow} == {pid}
    running = [r["fields"] for r in slow if r["fields"]["slow_record_state"] == 0]
    done = [r["fields"] for r in slow if r["fields"]["slow_record_state"] == 1]
    assert len(done) == 1, slow  # the quick request is not there
    assert len(running) >= 2, slow  # 1.6 s past a 0.3 s threshold, ticks every 0.5 s
    durations = [f["slow_duration"] for f in running]
    assert durations == sorted(durations) and SLOW <= durations[0] < durations[-1] < 1.6
    end = done[0]
    assert 1.6 <= end["slow_duration"] < 5
    assert all(f["slow_start_stamp"] == end["slow_start_stamp"] for f in running)
    assert abs(end["slow_start_stamp"] + end["slow_duration"] - time.time()) < 30
    assert end["slow_status"] == 200 and all(f["slow_status"] == 0 for f in running)
    assert end["slow_application_time"] >= 1.6
    assert (end["slow_method"], end["slow_scheme"], end["slow_hostname"]) == ("GET", "http", "127.0.0.1")
    assert (end["slow_script_name"], end["slow_path_info"]) == ("/t", "/slow")  # never the query
    assert (end["slow_protocol"], end["slow_peer_ip"], end["slow_user_agent"]) == ("HTTP/1.1", "127.0.0.1", "probe/1.0")
    assert end["slow_log_id"] and end["slow_thread_id"] >= 1
    assert end["slow_output_bytes"] == len(str(pid)) and end["slow_active_at_completion"] >= 1
    assert "slow_gil_wait_time" in end and all("slow_gil_wait_time" not in f for f in running)
    if mode == "daemon":
        assert end["slow_server_pid"] in srv.child_pids() and end["slow_server_pid"] != pid
        assert end["slow_queue_time"] >= 0 and end["slow_server_time"] > 0
    else:
        assert end["slow_server_pid"] == pid
        assert end["slow_queue_time"] == 0 and end["slow_daemon_time"] == 0
    samples = [r["fields"] for r in recs if r["kind"] == "request_metrics" and r["pid"] == pid]
    assert all(f["slow_requests_threshold"] == SLOW for f in samples)


# ------------------------------------------------------------ beside mod_wsgi 6 itself

# Kinds mod_wsgi 6.1.1 sends and we do not: a GC snapshot needs the reporter to enter every
# interpreter (README, "Telemetry").
NOT_SENT = {"gc_snapshot"}
# Fields mod_wsgi 6 sends and we leave out, by record shape (README's differences table).
LEFT_OUT = {"slow_request:running": {"slow_gil_wait_time", "slow_gil_wait_count"}}


def shapes(recs, pid):
    """{record shape: field names} of one process: samples split into busy and idle ticks
    (their fields differ by design), slow records into running and completed."""
    out = {}
    for r in recs:
        if r["pid"] != pid:
            continue
        shape = r["kind"]
        if shape == "request_metrics":
            shape += ":busy" if r["fields"]["request_count"] else ":idle"
        elif shape == "slow_request":
            shape += ":completed" if r["fields"]["slow_record_state"] else ":running"
        out.setdefault(shape, set()).update(r["fields"])
    return out


def test_same_records_and_fields_as_mod_wsgi_6(mode):
    """The same config, requests and receiver with mod_wsgi 6.1.1 (the differential tests'
    reference build) and with ours: the same record shapes with the same fields, and the
    same counts."""
    from harness import differential as dt
    seen = {}
    for server, so in (("mod_wsgi", dt.reference_module_so()), ("ours", None)):
        srv = harness.Apache(fragment(mode, "WSGISlowRequests 0.3\n"), module_so=so,
                             mpm_config=harness.ONE_EVENT_CHILD, name=f"tdiff-{server}")
        receiver = Receiver(srv.run_dir / "telemetry.sock", "dump", "--format", "json", "--count", "0")
        try:
            srv.start()
            pid = int(requests.get(srv.url("/t"), timeout=30).text)
            requests.get(srv.url("/t/slow?sleep=1.2"), timeout=30)
            for path, status in CALLS:
                assert requests.get(srv.url(path), timeout=30, allow_redirects=False).status_code == status
            time.sleep(4 * INTERVAL)  # idle ticks
            srv.stop()
            recs = receiver.wait_for(f"{server}'s process_stopped", lambda recs: any(
                r["kind"] == "process_stopped" and r["pid"] == pid for r in recs))
            assert "decode error" not in receiver.stderr()
            seen[server] = (pid, recs)
        finally:
            receiver.stop()
            srv.cleanup()
    (ref_pid, ref), (our_pid, ours) = seen["mod_wsgi"], seen["ours"]
    theirs, mine = shapes(ref, ref_pid), shapes(ours, our_pid)
    assert set(theirs) - set(mine) == NOT_SENT and set(mine) <= set(theirs)
    for shape in mine:
        assert theirs[shape] - mine[shape] == LEFT_OUT.get(shape, set()), shape
        assert mine[shape] <= theirs[shape], shape
    for name in ("request_count", "status_2xx_total", "status_3xx_total", "status_4xx_total", "status_5xx_total"):
        assert totals(ours, our_pid, name) == totals(ref, ref_pid, name), name
    last = {server: [r["fields"] for r in recs if r["pid"] == pid and r["kind"] in ("process_started", "process_stopped")]
            for server, (pid, recs) in seen.items()}
    for key in ("mod_wsgi_version", "python_version", "apache_version", "mpm_name", "hostname", "switch_interval"):
        assert last["ours"][0][key] == last["mod_wsgi"][0][key], key
    for key in ("process_group", "shutdown_reason", "lifetime_request_count", "active_requests_at_exit", "graceful_drain"):
        assert last["ours"][-1].get(key) == last["mod_wsgi"][-1].get(key), key


# ------------------------------------------------------------ the Python metrics API

def test_python_metrics_api_yields_to_the_reporter(mode, apache):
    """As mod_wsgi 6: with WSGITelemetryService the reporter owns the metrics, and
    request_metrics()/process_metrics() return None so an application can tell."""
    srv = apache(fragment(mode), mpm_config=harness.ONE_EVENT_CHILD)
    assert requests.get(srv.url("/t?api=1"), timeout=30).json() == [None, None]
    plain = apache(harness.in_mode("WSGIScriptAlias /t @APPS@/telemetry_app.wsgi\n", mode),
                   mpm_config=harness.ONE_EVENT_CHILD)
    request, process = requests.get(plain.url("/t?api=1"), timeout=30).json()
    assert request is not None and process["pid"] > 0


# ------------------------------------------------------------------ serve (the UI's view)

def test_serve_lists_our_processes(mode, apache):
    """The UI lists a process from its periodic samples (spec §6): /api/state must hold the
    serving pid, with its group, host and samples, and `top` must show its row."""
    port = harness.free_port()
    srv = apache(fragment(mode), mpm_config=harness.ONE_EVENT_CHILD, start=False)
    receiver = Receiver(srv.run_dir / "telemetry.sock", "serve", "--http-host", "127.0.0.1",
                        "--http-port", str(port), "--log-level", "WARNING")
    try:
        srv.start()
        pid = int(requests.get(srv.url("/t"), timeout=30).text)
        deadline = time.monotonic() + 20
        while True:
            try:
                state = requests.get(f"http://127.0.0.1:{port}/api/state", timeout=5).json()
            except requests.ConnectionError:
                state = {"processes": []}
            procs = {p["pid"]: p for p in state["processes"]}
            if pid in procs and procs[pid]["samples"] and sum(s["fields"]["request_count"] for s in procs[pid]["samples"]) == 1:
                break
            assert time.monotonic() < deadline, f"{pid} not in /api/state: {sorted(procs)}\n{receiver.stderr()}"
            time.sleep(0.2)
        assert state["decode_errors"] == 0
        me = procs[pid]
        assert me["hostname"] == socket.gethostname()
        assert me["process_parent_pid"] == srv.parent_pid
        assert (me["process_group"] or "") == (harness.DAEMON_POOL if mode == "daemon" else "")
        top = subprocess.run([str(RECEIVER), "top", "--once", "--no-color", "--url", f"ws://127.0.0.1:{port}/ws"],
                             capture_output=True, text=True, timeout=30)
        assert top.returncode == 0, top.stderr
        assert any(line.split()[:1] == [str(pid)] for line in top.stdout.splitlines()), top.stdout
    finally:
        receiver.stop()


# ----------------------------------------------------- a receiver that does not read

def test_a_receiver_that_never_reads_costs_nothing(mode, apache):
    """mod_wsgi's blocking sendto stalls its reporter once the receiver's queue is full
    (10 datagrams on Linux); ours drops instead, so requests and shutdown go on."""
    srv = apache(fragment(mode), mpm_config=harness.ONE_EVENT_CHILD, start=False)
    path = srv.run_dir / "telemetry.sock"
    deaf = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        deaf.bind(str(path))
        os.chmod(path, 0o666)
        srv.start()
        requests.get(srv.url("/t"), timeout=30)
        time.sleep(12 * INTERVAL)  # more datagrams than the queue holds
        began = time.monotonic()
        for _ in range(5):
            assert requests.get(srv.url("/t"), timeout=30).status_code == 200
        assert time.monotonic() - began < 5
        began = time.monotonic()
        srv.stop()  # also fails on a hang (harness)
        assert time.monotonic() - began < 10
    finally:
        deaf.close()


def test_a_socket_path_too_long_is_a_warning_not_an_outage(apache, mode):
    """As mod_wsgi: the path is checked when the reporter opens it (sun_path holds 107
    bytes); the process logs WSGI0132, sends nothing and serves on."""
    long_path = "/tmp/" + "x" * 110 + ".sock"
    srv = apache(harness.in_mode(f"WSGITelemetryService unix:{long_path}\nWSGIScriptAlias /t @APPS@/telemetry_app.wsgi\n", mode),
                 mpm_config=harness.ONE_EVENT_CHILD)
    assert requests.get(srv.url("/t"), timeout=30).status_code == 200
    srv.wait_for_log(re.escape(f"WSGI0132: Telemetry reporter could not open target 'unix:{long_path}'; metrics will not be sent"))
    assert "Telemetry reporter started" not in srv.error_log()


# ------------------------------------------------------------ refused directive values

@pytest.mark.parametrize("line,message", [
    ("WSGITelemetryService udp:127.0.0.1:9000",
     "WSGITelemetryService target must be 'unix:/path' (remote 'udp:host:port' targets are no longer supported)"),
    ("WSGITelemetryService unix:/run/t.sock interval=0.1", "WSGITelemetryService interval must be at least 0.5 seconds"),
    ("WSGITelemetryService unix:/run/t.sock interval=nan", "WSGITelemetryService interval must be a finite number"),
    ("WSGITelemetryService unix:/run/t.sock every=2", "WSGITelemetryService second argument must be 'interval=N'"),
    ("WSGITelemetryService unix:/a interval=1 x", "WSGITelemetryService takes 1-2 arguments"),
    ("WSGISlowRequests -1", "WSGISlowRequests threshold must be non-negative"),
    ("WSGISlowRequests 1 2", "WSGISlowRequests takes one argument"),
    ("WSGITelemetryOptions +CaptureUserAgent None",
     "WSGITelemetryOptions: cannot mix +/- form with absolute names in a single directive"),
    ("WSGITelemetryOptions +Bogus", "WSGITelemetryOptions: unknown flag 'Bogus'"),
    ("WSGITelemetryOptions -All", "WSGITelemetryOptions: 'All' may not have a +/- prefix"),
    ("WSGITelemetryOptions +", "WSGITelemetryOptions: bare '+' / '-' is not a flag"),
])
def test_bad_values_are_refused_at_their_line(configtest, line, message):
    rc, out = configtest(line + "\n")
    assert rc != 0, out
    assert message in out, out
    assert f"line {configtest.last.conf_line_of(line)} of {configtest.last.conf}" in out, out


def test_telemetry_directives_are_server_wide(configtest):
    rc, out = configtest("<VirtualHost 127.0.0.1:*>\nWSGISlowRequests 2\n</VirtualHost>\n")
    assert rc != 0, out
    assert "WSGISlowRequests cannot occur within <VirtualHost>" in out, out


def test_good_values_are_accepted(configtest):
    rc, out = configtest("WSGITelemetryService unix:/run/t.sock interval=2\n"
                         "WSGISlowRequests 1.5\nWSGITelemetryOptions +CaptureUserAgent\n"
                         "WSGITelemetryOptions None\n")
    assert rc == 0, out
    assert "Syntax OK" in out
