# Rewritten by tests/test_daemon_reload.py before each touch of app.wsgi.
VERSION = 1
