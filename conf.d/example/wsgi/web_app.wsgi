# WSGI entry point of the web app (mounted at / by example.conf).
#
# With WSGIScriptReloading On, `touch` this file after editing the app:
# the next request reloads the script and the app's changed modules.
import os
import sys

APP_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "app")
if APP_DIR not in sys.path:
    sys.path.insert(0, APP_DIR)

from web_app import app  # noqa: E402

application = app
