"""Importable only when tests/apps/pylib is on sys.path (WSGIPythonPath)."""
MARKER = "mwrs_pathmod"
