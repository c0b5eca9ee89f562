"""Reports the mod_wsgi module API as the application sees it (reference §9)."""
import json
import logging
import os

import mod_wsgi

events = []
last_finished = {}
stopping_file = os.environ.get("MWRS_STOP_MARKER")

log = logging.getLogger("mwrs.api")
log.addHandler(mod_wsgi.LogHandler())
log.setLevel(logging.INFO)


@mod_wsgi.subscribe_events
def on_event(name, **event):
    events.append(name)
    if name == "request_finished":
        last_finished.clear()
        last_finished.update({k: v for k, v in event.items()
                              if isinstance(v, (int, float, str, type(None)))})
    if name == "request_started":
        event["request_data"]["seen_by_subscriber"] = True
        # A subscriber may wrap the application.
        inner = event["application_object"]

        def wrapped(environ, start_response):
            environ["mwrs.wrapped"] = True
            return inner(environ, start_response)
        return {"application_object": wrapped}


def on_shutdown(event, **kwargs):
    with open(os.path.join(os.path.dirname(__file__), "..", "markers", "shutdown-%d" % os.getpid()), "w") as f:
        f.write(kwargs.get("reason", ""))


mod_wsgi.subscribe_shutdown(on_shutdown)
mod_wsgi.start_recording_metrics()


def application(environ, start_response):
    log.warning("LogHandler line from the app")
    data = mod_wsgi.request_data()
    body = {
        "attributes": sorted(a for a in (
            "version", "process_group", "application_group", "maximum_processes",
            "threads_per_process", "FileWrapper", "RequestTimeout", "LogHandler",
            "subscribe_events", "subscribe_shutdown", "subscribe_signals", "request_data",
            "active_requests", "event_callbacks", "shutdown_callbacks",
            "start_recording_metrics", "request_metrics", "process_metrics", "server_metrics")
            if hasattr(mod_wsgi, a)),
        "version": list(mod_wsgi.version),
        "process_group": mod_wsgi.process_group,
        "application_group": mod_wsgi.application_group,
        "threads_per_process": mod_wsgi.threads_per_process,
        "request_timeout_is_base_exception": issubclass(mod_wsgi.RequestTimeout, BaseException)
        and not issubclass(mod_wsgi.RequestTimeout, Exception),
        "seen_by_subscriber": data.get("seen_by_subscriber", False),
        "wrapped": environ.get("mwrs.wrapped", False),
        "events_so_far": events[-6:],
        "active_requests": len(mod_wsgi.active_requests),
        "process_metrics_pid": (mod_wsgi.process_metrics() or {}).get("pid"),
        "request_count": (mod_wsgi.request_metrics() or {}).get("request_count"),
        "server_metrics": mod_wsgi.server_metrics(),
        "file_wrapper_is_modwsgi": environ["wsgi.file_wrapper"] is mod_wsgi.FileWrapper,
        "last_request_finished": dict(last_finished),
    }
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]
