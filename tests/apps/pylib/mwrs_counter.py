"""A call counter shared by whatever imports it in one interpreter
(tests/test_application_groups.py: same group -> one counter, other group ->
its own copy of this module)."""
import threading

_lock = threading.Lock()
calls = 0


def bump():
    global calls
    with _lock:
        calls += 1
        return calls
