"""The `mod_wsgi` module inside the server (reference §9): attributes, events, request
data, metrics, LogHandler and shutdown callbacks, in embedded and daemon mode."""

import json
import os
import time

import pytest
import requests

import harness

EMBEDDED = """\
WSGIScriptAlias /api @APPS@/modwsgi_api.wsgi
"""

DAEMON = """\
WSGIDaemonProcess apipool processes=1 threads=3 server-metrics=On
WSGIScriptAlias /api @APPS@/modwsgi_api.wsgi process-group=apipool
"""


# One Apache child, so consecutive requests meet the same interpreter (and its event list).
ONE_CHILD = harness.ONE_EVENT_CHILD


def get(srv):
    r = requests.get(srv.url("/api"), timeout=30)
    assert r.status_code == 200, r.text[:500]
    return r.json()


@pytest.mark.parametrize("mode", ["embedded", "daemon"])
def test_module_api(apache, mode):
    srv = apache(EMBEDDED if mode == "embedded" else DAEMON, mpm_config=ONE_CHILD)
    first = get(srv)
    second = get(srv)
    assert first["attributes"] == sorted([
        "version", "process_group", "application_group", "maximum_processes",
        "threads_per_process", "FileWrapper", "RequestTimeout", "LogHandler",
        "subscribe_events", "subscribe_shutdown", "subscribe_signals", "request_data",
        "active_requests", "event_callbacks", "shutdown_callbacks",
        "start_recording_metrics", "request_metrics", "process_metrics", "server_metrics"])
    assert first["version"][0] == 6
    assert first["application_group"] == ""  # the harness runs apps in %{GLOBAL}
    assert first["request_timeout_is_base_exception"]
    assert first["file_wrapper_is_modwsgi"]
    # A subscriber saw request_started, wrote into request_data, and wrapped the app.
    assert first["seen_by_subscriber"] and first["wrapped"]
    assert "request_started" in first["events_so_far"]
    assert {"response_started", "request_finished"} <= set(second["events_so_far"])
    assert second["active_requests"] == 1  # this request
    assert second["process_metrics_pid"] is not None
    assert second["request_count"] >= 1
    if mode == "daemon":
        assert first["process_group"] == "apipool"
        assert first["threads_per_process"] == 3
        assert isinstance(second["server_metrics"], dict), "server-metrics=On"
    else:
        assert first["process_group"] == ""
        assert second["server_metrics"] is None, "WSGIServerMetrics is Off by default"
    assert "LogHandler line from the app" in srv.error_log()


def test_module_says_it_is_mod_wsgi_rs(apache):
    srv = apache("WSGIScriptAlias /shape @APPS@/modwsgi_shape.wsgi\n", mpm_config=ONE_CHILD)
    names = requests.get(srv.url("/shape/names"), timeout=30).json()
    assert "mod_wsgi_rs_version" in names
    assert "version" in names
    assert not {"os", "sys", "io", "Input"} & set(names), "dir(mod_wsgi) shows only its API"


@pytest.mark.parametrize("mode", ["embedded", "daemon"])
def test_request_finished_event_reports_what_the_request_did(apache, mode):
    srv = apache(EMBEDDED if mode == "embedded" else DAEMON, mpm_config=ONE_CHILD)
    get(srv)
    # the previous request's request_finished event, as the app's subscriber saw it
    finished = get(srv)["last_request_finished"]
    assert finished["status"] == 200
    assert finished["output_length"] > 0 and finished["output_writes"] >= 1
    assert finished["application_time"] >= 0 and finished["cpu_time"] >= 0
    assert finished["request_id"] and finished["thread_id"] >= 1
    assert finished["gil_wait_count"] >= 0
    if mode == "daemon":
        assert finished["queue_start"] > 0 and finished["daemon_start"] >= finished["queue_start"]


def test_shutdown_callbacks_run_when_apache_stops(apache):
    srv = apache(EMBEDDED)
    get(srv)
    markers = srv.root / "markers"
    # What happens at exit is the subject, not the hard stop (see harness stop()).
    srv.stop(graceful=True)
    found = [p for p in markers.glob("shutdown-*")]
    assert found, "subscribe_shutdown callback did not run"
    assert found[0].read_text() == "shutdown_signal"
