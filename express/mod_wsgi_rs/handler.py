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
# --document-root: Apache reaches this handler by an internal redirect (WSGIHandlerScript),
# which leaves SCRIPT_NAME at the first path segment; the mount point is put back instead.
FALLBACK_MOUNT_POINT = {fallback_mount_point!r}


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


def _fallback(app, mount_point):
    # As mod_wsgi-express's handler does for its fallback resource.
    def handle_request(environ, start_response):
        if environ.get("mod_wsgi.mount_point") is not None:
            # a trusted proxy header set SCRIPT_NAME: keep it, drop the local mount point
            path = environ["mod_wsgi.script_name"] + environ.get("PATH_INFO", "")
        else:
            path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
            environ["SCRIPT_NAME"] = ""
        if mount_point != "/" and path.startswith(mount_point):
            if environ.get("mod_wsgi.mount_point") is None:
                environ["SCRIPT_NAME"] = mount_point
            path = path[len(mount_point):]
        environ["PATH_INFO"] = path
        return app(environ, start_response)
    return handle_request


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
if FALLBACK_MOUNT_POINT is not None:
    application = _fallback(application, FALLBACK_MOUNT_POINT)
# WSGIHandlerScript (--document-root) calls handle_request.
handle_request = application
'''


RESOURCE_TEMPLATE = '''\
# --add-handler resources, written by mod_wsgi_rs-express: files of the document root with
# these extensions are answered by the WSGI application of the script named for each.
import os
import re
import sys
import types

RESOURCES = {resources!r}

_modules = {{}}
for _extension, _script in RESOURCES:
    _name = "__wsgi_resource%s__" % re.sub(r"[^\\w]", "_", _extension)
    _module = types.ModuleType(_name)
    _module.__file__ = _script
    with open(_script) as _f:
        exec(compile(_f.read(), _script, "exec", dont_inherit=True), _module.__dict__)
    sys.modules[_name] = _module
    _modules[_extension] = _module


def application(environ, start_response):
    module = _modules[os.path.splitext(environ["SCRIPT_NAME"])[-1]]
    handler = getattr(module, "handle_request", None) or module.application
    return handler(environ, start_response)


handle_request = application  # what WSGIHandlerScript calls
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
        fallback_mount_point=o.mount_point if o.static_files else None,
    )


def render_resources(o):
    """resource.wsgi for --add-handler."""
    return RESOURCE_TEMPLATE.format(resources=[tuple(r) for r in o.handler_scripts])
