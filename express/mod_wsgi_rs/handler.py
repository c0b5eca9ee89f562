"""The handler .wsgi written into the ServerRoot. Pure: options -> Python source text.

Apache's WSGIScriptAlias points at the handler, not at the user's file, so one mechanism
serves every --application-type (a script, a module to import, a Paste .ini), and so that
--reload-on-changes has a file of its own to touch: mod_wsgi_rs restarts the daemon
processes when the handler's mtime changes.
"""

import os

TEMPLATE = '''\
# WSGI handler written by mod_wsgi_rs-express: Apache's WSGIScriptAlias points here and this
# file loads the application. Touch it to restart the application's processes.
import sys

APPLICATION_TYPE = {application_type!r}   # script | module | paste
ENTRY_POINT = {entry_point!r}
CALLABLE_OBJECT = {callable_object!r}
RELOAD_ON_CHANGES = {reload_on_changes!r}
HANDLER = {handler!r}
RELOADER = {reloader!r}
# --reload-on-changes watches the loaded modules under these directories (none: all of
# them outside the standard library and installed packages).
WATCH_DIRECTORIES = {watch_directories!r}


def _attribute(obj, dotted, where):
    try:
        for name in dotted.split("."):
            obj = getattr(obj, name)
    except AttributeError:
        raise RuntimeError("%s has no WSGI callable %r (see --callable-object)"
                           % (where, dotted)) from None
    return obj


def _load_script(path):
    # As mod_wsgi loads a .wsgi: compiled under its own file name, run as a module with a
    # name of its own, in sys.modules so that pickle and friends find it.
    import hashlib
    import types
    name = "_mod_wsgi_rs_" + hashlib.md5(path.encode("utf-8")).hexdigest()
    with open(path, "rb") as f:
        code = compile(f.read(), path, "exec", dont_inherit=True)
    module = types.ModuleType(name)
    module.__file__ = path
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return _attribute(module, CALLABLE_OBJECT, path)


def _load_module(name):
    import importlib
    if ":" in name:  # `pkg.mod:callable`, as other servers take it
        name, callable_object = name.split(":", 1)
    else:
        callable_object = CALLABLE_OBJECT
    return _attribute(importlib.import_module(name), callable_object, "module " + name)


def _load_paste(path):
    try:
        from paste.deploy import loadapp
    except ImportError:
        raise RuntimeError(
            "--application-type paste needs PasteDeploy in the Python that runs the "
            "application (%s): pip install PasteDeploy" % sys.prefix) from None
    return loadapp("config:" + path)


def _start_watcher():
    # The watcher is a file of the ServerRoot, loaded by path: the daemon processes need not
    # have mod_wsgi_rs importable.
    import importlib.util
    spec = importlib.util.spec_from_file_location("_mod_wsgi_rs_reload", RELOADER)
    reload = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reload)
    extra = [ENTRY_POINT] if APPLICATION_TYPE in ("script", "paste") else []
    reload.start(HANDLER, WATCH_DIRECTORIES, files=extra, ignore=[HANDLER, RELOADER])


# The watcher starts once the application is loaded (its modules are then the baseline),
# and also when loading fails, so that fixing the broken file reloads too.
try:
    if APPLICATION_TYPE == "module":
        application = _load_module(ENTRY_POINT)
    elif APPLICATION_TYPE == "paste":
        application = _load_paste(ENTRY_POINT)
    else:
        application = _load_script(ENTRY_POINT)
finally:
    if RELOAD_ON_CHANGES:
        _start_watcher()
'''


def render_handler(o):
    """The handler's source for `o` (a config.ServerOptions)."""
    return TEMPLATE.format(
        application_type=o.application_type,
        entry_point=o.app,
        callable_object=o.callable_object,
        reload_on_changes=o.reload_on_changes,
        handler=o.handler_path,
        reloader=o.reloader_path,
        # every loaded module outside the libraries, as mod_wsgi-express watches sys.modules:
        # an app that puts its own directory on sys.path (as the .wsgi files here do) is seen
        watch_directories=[],
    )
