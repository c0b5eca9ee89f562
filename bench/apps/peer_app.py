# The bench's peer servers (Granian, gunicorn) import `peer_app:application`:
# the .wsgi file named by $MOD_WSGI_RS_BENCH_WSGI (the same file Apache's
# WSGIScriptAlias loads), run as a module of its own like mod_wsgi does, and
# its `application`. The URL prefix (SCRIPT_NAME) is each server's own
# setting, so no Python runs per request here.
import os
import sys
import types

_path = os.path.abspath(os.environ["MOD_WSGI_RS_BENCH_WSGI"])
_name = "_bench_wsgi_" + os.path.splitext(os.path.basename(_path))[0]
_module = types.ModuleType(_name)
_module.__file__ = _path
sys.modules[_name] = _module
with open(_path, "rb") as _f:
    exec(compile(_f.read(), _path, "exec"), _module.__dict__)

application = _module.application
