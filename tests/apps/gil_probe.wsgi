# What a sub-interpreter allows (tests/test_per_interpreter_gil.py). With its own GIL
# (PEP 684's isolated config, as mod_wsgi 6 makes it) CPython refuses extension modules
# without per-interpreter GIL support and daemon threads; the legacy config allows them.
import sys
import threading

import mod_wsgi


def _daemon_thread():
    t = threading.Thread(target=lambda: None, daemon=True)
    t.start()
    t.join()


def _thread():
    t = threading.Thread(target=lambda: None)
    t.start()
    t.join()


def _allowed(action):
    try:
        action()
        return "yes"
    except (RuntimeError, ImportError) as e:
        return f"no ({type(e).__name__})"


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/singlephase":
        import _testsinglephase  # noqa: F401  (single-phase init: no per-interpreter GIL support)
        body = "imported"
    elif path == "/input":
        data = environ["wsgi.input"].read()
        environ["wsgi.errors"].write(f"read {len(data)} bytes\n")
        body = f"{len(data)}"
    else:
        body = "\n".join([
            f"group={mod_wsgi.application_group!r}",
            f"threads={_allowed(_thread)}",
            f"daemon_threads={_allowed(_daemon_thread)}",
            f"python={sys.version_info[0]}.{sys.version_info[1]}",
        ])
    data = body.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(data)))])
    return [data]
