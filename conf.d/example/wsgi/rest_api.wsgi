# WSGI entry point of the REST API (mounted at /api/v1 by example.conf).
import os
import sys

# <example>/app holds the application packages.
APP_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "app")
if APP_DIR not in sys.path:
    sys.path.insert(0, APP_DIR)

from rest_api import app  # noqa: E402

# mod_wsgi_rs calls the object named `application` (WSGICallableObject).
application = app
