"""--reload-on-changes: a thread in each application process that polls the files of the
loaded application modules and, when one changes, touches the handler .wsgi.

Touching the handler is all it does: mod_wsgi_rs sees the handler's new mtime at the next
request and restarts the daemon processes, new ones first, so no request fails (in embedded
mode it reloads the handler and the modules it brought in). The watcher does not restart
anything itself.

This file has no dependencies outside the standard library: setup-server copies it into the
ServerRoot and the handler loads it by path, so the daemon processes need not have the
mod_wsgi_rs package importable.
"""

import os
import site
import sys
import sysconfig
import threading
import time

THREAD_NAME = "mod_wsgi_rs-reload-on-changes"
INTERVAL = 1.0


def _real(path):
    return os.path.realpath(os.path.abspath(path))


def _under(path, directories):
    return any(path == d or path.startswith(d.rstrip(os.sep) + os.sep) for d in directories)


def library_directories():
    """Where the standard library and installed packages live: never watched, even when
    a watched directory holds them (a virtualenv inside the project)."""
    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            dirs.add(sysconfig.get_path(name))
        except KeyError:
            pass
    try:
        dirs.update(site.getsitepackages())
    except AttributeError:  # old virtualenvs' site.py
        pass
    user_site = getattr(site, "USER_SITE", None)
    if user_site:
        dirs.add(user_site)
    return [_real(d) for d in dirs if d]


class Watcher:
    """Which files to watch and their last mtimes; `scan()` says what changed."""

    def __init__(self, directories, files=(), ignore=(), modules=None):
        self.directories = [_real(d) for d in directories if d]
        self.excluded = library_directories()
        # A watched directory inside a library directory (a package edited in place) wins.
        self.excluded = [e for e in self.excluded
                         if not any(_under(d, [e]) and d != e for d in self.directories)]
        self.files = [_real(f) for f in files if f]
        self.ignore = {_real(f) for f in ignore if f}
        self.modules = modules if modules is not None else sys.modules
        self.mtimes = {}

    def wanted(self, path):
        inside = _under(path, self.directories) if self.directories else True
        return path not in self.ignore and inside and not _under(path, self.excluded)

    def paths(self):
        found = list(self.files)
        for module in list(self.modules.values()):
            path = getattr(module, "__file__", None)
            if not isinstance(path, str) or not path:
                continue
            path = _real(path)
            if self.wanted(path):
                found.append(path)
        return found

    def scan(self):
        """[(path, mtime_ns)] of the files changed (or removed) since the last scan. A file
        seen for the first time is recorded, not reported."""
        changed = []
        for path in dict.fromkeys(self.paths()):
            try:
                mtime = os.stat(path).st_mtime_ns
            except OSError:
                mtime = None  # removed, or being replaced
            if path not in self.mtimes:
                if mtime is not None:
                    self.mtimes[path] = mtime
                continue
            if mtime != self.mtimes[path]:
                changed.append((path, mtime if mtime is not None else time.time_ns()))
                if mtime is None:
                    del self.mtimes[path]
                else:
                    self.mtimes[path] = mtime
        return changed


def touch(handler, mtime_ns):
    """Give the handler `mtime_ns` (the changed file's mtime) unless it has it already.

    Every process of the pool runs a watcher and sees the same change; they all set the
    same mtime, so the pool restarts once, not once per process."""
    st = os.stat(handler)
    if st.st_mtime_ns == mtime_ns:
        return False
    os.utime(handler, ns=(st.st_atime_ns, mtime_ns))
    return True


def _log(message):
    print(f"mod_wsgi_rs-express (pid {os.getpid()}): {message}", file=sys.stderr, flush=True)


def run(watcher, handler, interval=INTERVAL):
    watcher.scan()  # the baseline
    while True:
        time.sleep(interval)
        try:
            changed = watcher.scan()
            if changed:
                path, mtime = max(changed, key=lambda c: c[1])
                if touch(handler, mtime):
                    _log(f"{path!r} changed; touched {handler!r} to reload the application")
        except Exception as e:  # a watcher that dies silently would be worse than a log line
            _log(f"reload-on-changes: {e!r}")


def start(handler, directories, files=(), ignore=(), interval=INTERVAL):
    """Start the watcher thread unless this process has one. Daemonic: it never keeps the
    process from exiting. Returns the thread, or None if one was running already (an
    embedded-mode reload runs the handler again)."""
    if any(t.name == THREAD_NAME and t.is_alive() for t in threading.enumerate()):
        return None
    watcher = Watcher(directories, files=files, ignore=ignore)
    thread = threading.Thread(target=run, args=(watcher, handler, interval),
                              name=THREAD_NAME, daemon=True)
    thread.start()
    if watcher.directories:
        where = f"under {', '.join(watcher.directories)}"
    else:
        where = "outside the standard library and installed packages"
    _log(f"watching the application's modules {where} for changes")
    return thread
