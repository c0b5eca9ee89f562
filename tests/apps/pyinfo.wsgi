# Reports the Python the module runs: prefix, path, flags, warnings options,
# hash of a fixed string (for WSGIPythonHashSeed), whether a module from
# WSGIPythonPath is importable.
import json
import os
import sys
from wsgiref.validate import validator


def app(environ, start_response):
    try:
        import mwrs_pathmod
        pathmod = mwrs_pathmod.__file__
    except ImportError:
        pathmod = None
    info = {
        "executable": sys.executable,
        "prefix": sys.prefix,
        "base_prefix": sys.base_prefix,
        "version": list(sys.version_info[:3]),
        "path": sys.path,
        "optimize": sys.flags.optimize,
        "dont_write_bytecode": sys.dont_write_bytecode,
        "hash_randomization": sys.flags.hash_randomization,
        "hash": hash("mod_wsgi_rs hash seed probe"),
        "warnoptions": sys.warnoptions,
        "pathmod": pathmod,
        "argv": sys.argv,
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "uid": os.getuid(),
        "env_pythonpath": os.environ.get("PYTHONPATH"),
        "main_thread_alive": __import__("threading").main_thread().is_alive(),
    }
    body = json.dumps(info).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


application = validator(app)
