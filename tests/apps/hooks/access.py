# WSGIAccessScript: allow_access(environ, host) -> True / False / None.
def allow_access(environ, host):
    verdict = environ.get("QUERY_STRING", "")
    if verdict == "deny":
        return False
    if verdict == "none":
        return None
    if verdict == "boom":
        raise RuntimeError("access hook failed")
    return True
