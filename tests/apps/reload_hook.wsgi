# mod_wsgi 6's reload_required(resource) hook: the script asks for its own reload.
# ?mode= at load time is not known, so the trigger is a file: MARKERS/reload-now makes the
# next check answer True once (it is removed); MARKERS/reload-raise makes the check raise.
import os
import uuid

LOAD_ID = uuid.uuid4().hex
MARKERS = os.path.join(os.path.dirname(__file__), "..", "markers")


def reload_required(resource):
    if os.path.exists(os.path.join(MARKERS, "reload-raise")):
        raise RuntimeError("reload_required failed on purpose")
    trigger = os.path.join(MARKERS, "reload-now")
    if os.path.exists(trigger):
        os.unlink(trigger)
        return resource.endswith("reload_hook.wsgi")
    return False


def application(environ, start_response):
    body = LOAD_ID.encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
