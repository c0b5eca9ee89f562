# WSGIDispatchScript: choose the interpreter and the callable per request.
def application_group(environ):
    return "dispatched-" + (environ.get("QUERY_STRING") or "default")


def callable_object(environ):
    return "other" if environ.get("QUERY_STRING") == "other" else None
