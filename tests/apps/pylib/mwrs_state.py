"""Module state set by tests/apps/import_probe.py (WSGIImportScript) and read by
tests/apps/interp_probe.wsgi in the same interpreter."""
imported_by = None      # {"group": ..., "pid": ...} once import_probe.py ran here
signal_result = None    # what signal.signal() did when import_probe.py ran


def snapshot():
    return {"imported_by": imported_by, "signal": signal_result}
