# The shape of the mod_wsgi module an application sees (for the differential tests): its
# public names, the keys of each event it publishes and of its metrics dicts. Values differ
# run to run; names and keys are what code written for mod_wsgi 6 depends on.
import json

import mod_wsgi

SEEN = {}


def _record(name, **kwargs):
    SEEN.setdefault(name, set()).update(kwargs)


mod_wsgi.subscribe_events(_record)


def _keys(call):
    try:
        value = call()
    except Exception as e:  # noqa: BLE001 - the exception is the answer
        return f"{type(e).__name__}: {e}"
    return sorted(value) if isinstance(value, dict) else type(value).__name__


def application(environ, start_response):
    what = environ.get("PATH_INFO", "").strip("/")
    if what == "names":
        data = sorted(n for n in dir(mod_wsgi) if not n.startswith("_"))
    elif what == "events":
        data = {name: sorted(keys) for name, keys in sorted(SEEN.items())}
    elif what == "metrics":
        mod_wsgi.start_recording_metrics() if hasattr(mod_wsgi, "start_recording_metrics") else None
        data = {"process_metrics": _keys(mod_wsgi.process_metrics),
                "server_metrics": _keys(mod_wsgi.server_metrics),
                "request_metrics": _keys(getattr(mod_wsgi, "request_metrics", dict))}
    elif what == "request-data":
        data = _keys(mod_wsgi.request_data)
    else:
        data = {"unknown": what}
    body = json.dumps(data, indent=1).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
