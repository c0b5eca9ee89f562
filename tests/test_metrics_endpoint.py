"""`SetHandler wsgi-metrics`: Prometheus text format any monitoring stack scrapes, parsed here
with prometheus_client's own parser, in both modes. Requests by status class and process group,
phase histograms, busy/idle threads, each process's requests (the same number as
mod_wsgi.process_metrics()), RSS and CPU, daemon restarts with their reason, and access
controlled like any Apache location."""
import os
import signal
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

import harness

CONF = """\
WSGIScriptAlias /app @APPS@/metrics_probe.wsgi
<Location /metrics>
    SetHandler wsgi-metrics
    Require ip 127.0.0.1
</Location>
<Location /metrics-elsewhere>
    SetHandler wsgi-metrics
    Require ip 192.0.2.1
</Location>
"""


@pytest.fixture
def srv(apache, mode):
    return apache(harness.in_mode(CONF, mode), modules=["authz_host"])


def scrape(srv):
    r = requests.get(srv.url("/metrics"), timeout=30)
    assert r.status_code == 200, srv.error_log()[-2000:]
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples.setdefault(s.name, []).append((s.labels, s.value))
    return samples


def value(samples, name, **labels):
    return sum(v for l, v in samples.get(name, []) if all(l.get(k) == w for k, w in labels.items()))


def test_requests_by_status_class_and_phases(srv, mode):
    group = harness.DAEMON_POOL if mode == "daemon" else ""
    for path, n in (("/app/status/200", 5), ("/app/status/201", 1), ("/app/status/404", 3), ("/app/status/503", 2)):
        for _ in range(n):
            requests.get(srv.url(path), timeout=30)
    assert requests.get(srv.url("/app/boom"), timeout=30).status_code == 500
    s = scrape(srv)
    of = dict(name="mod_wsgi_rs_requests_total", process_group=group, mode=mode)
    assert value(s, **of, status_class="2xx") == 6
    assert value(s, **of, status_class="4xx") == 3
    # the 503s, and the exception (answered 500 without a response from the app)
    assert value(s, **of, status_class="5xx") == 3
    app = dict(process_group=group, phase="application")
    assert value(s, "mod_wsgi_rs_request_phase_seconds_count", **app) == 12
    assert value(s, "mod_wsgi_rs_request_phase_seconds_bucket", **app, le="+Inf") == 12
    assert value(s, "mod_wsgi_rs_request_phase_seconds_sum", **app) > 0
    if mode == "daemon":
        assert value(s, "mod_wsgi_rs_request_phase_seconds_count", process_group=group, phase="queue") == 12
    else:
        assert "queue" not in {l.get("phase") for l, _ in s["mod_wsgi_rs_request_phase_seconds_count"]}
    busy = value(s, "mod_wsgi_rs_threads", process_group=group, state="busy")
    idle = value(s, "mod_wsgi_rs_threads", process_group=group, state="idle")
    assert idle >= 1 and busy >= 0


def test_each_process_matches_process_metrics(srv, mode):
    for _ in range(4):
        requests.get(srv.url("/app/"), timeout=30)
    info = requests.get(srv.url("/app/process"), timeout=30).json()
    s = scrape(srv)
    kind = "daemon" if mode == "daemon" else "apache_child"
    # the request that asked counted itself when it finished, after process_metrics() ran
    assert value(s, "mod_wsgi_rs_process_requests_total", pid=str(info["pid"]), kind=kind) == info["request_count"] + 1
    assert value(s, "mod_wsgi_rs_process_resident_memory_bytes", pid=str(info["pid"])) > 1_000_000
    assert value(s, "mod_wsgi_rs_process_cpu_seconds_total", pid=str(info["pid"])) > 0


def test_access_is_controlled_like_any_location(srv):
    assert requests.get(srv.url("/metrics-elsewhere"), timeout=30).status_code == 403
    assert requests.post(srv.url("/metrics"), timeout=30).status_code == 405


def test_a_killed_daemon_process_is_counted_with_its_reason(apache):
    srv = apache(harness.in_mode(CONF, "daemon"), modules=["authz_host"])
    pid = requests.get(srv.url("/app/process"), timeout=30).json()["pid"]
    os.kill(pid, signal.SIGKILL)
    deadline = time.time() + 30
    while True:
        r = requests.get(srv.url("/app/process"), timeout=30)
        if r.status_code == 200 and r.json()["pid"] != pid:
            break
        assert time.time() < deadline, srv.error_log()[-2000:]
        time.sleep(0.2)
    s = scrape(srv)
    assert value(s, "mod_wsgi_rs_daemon_restarts_total", process_group=harness.DAEMON_POOL, reason="signal") == 1
    assert pid not in {int(l["pid"]) for l, _ in s["mod_wsgi_rs_process_requests_total"]}
