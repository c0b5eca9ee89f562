# Which Python runs the app, and from which prefix (tests/test_other_pythons.py).
import sys


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{sys.version_info[0]}.{sys.version_info[1]} {sys.prefix}".encode()]
