# The Python half of the `mod_wsgi` module, executed once per interpreter by mod_wsgi_rs.
# Native functions are injected before this runs: _read(state, size, exact) and
# _log(state, data) take the per-request capsule; _process_log(data) logs for whatever request
# this thread is serving.
import io
import os
import sys
import sysconfig
# Imported here, on the thread that creates the interpreter (for the main interpreter, the
# process's main thread, which also finalises it): threading records its importer as the
# main thread, and Python's shutdown waits for that thread's state to go away.
import threading  # noqa: F401


class FileWrapper:
    """wsgi.file_wrapper. A regular file with a working fileno()/tell() is sent by Apache
    (file bucket, sendfile); anything else is iterated in `blksize` reads."""

    def __init__(self, filelike, blksize=8192):
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, 'close'):
            self.close = filelike.close

    def __iter__(self):
        return self

    def __next__(self):
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration


class Input:
    """wsgi.input: reads never block past the end of the body; read(), readline() and
    iteration share one buffer."""

    __slots__ = ('_state', '_buffer')

    def __init__(self, state):
        self._state = state
        self._buffer = b''

    def read(self, size=-1):
        if size is None or size < 0:
            data, self._buffer = self._buffer, b''
            return data + _read(self._state, -1, True)
        buffered = self._buffer
        if len(buffered) >= size:
            self._buffer = buffered[size:]
            return buffered[:size]
        self._buffer = b''
        return buffered + _read(self._state, size - len(buffered), True)

    def readline(self, size=-1):
        if size is None:
            size = -1
        buffered = self._buffer
        start = 0
        while True:
            newline = buffered.find(b'\n', start)
            if newline >= 0 and (size < 0 or newline < size):
                cut = newline + 1
                break
            if 0 <= size <= len(buffered):
                cut = size
                break
            start = len(buffered)
            want = 8192 if size < 0 else max(size - len(buffered), 1)
            more = _read(self._state, want, False)
            if not more:
                cut = len(buffered)
                break
            buffered += more
        self._buffer = buffered[cut:]
        return buffered[:cut]

    def readlines(self, hint=-1):
        if hint is None:
            hint = -1
        lines, total = [], 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                return lines

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def close(self):
        pass


class _LogStream(io.RawIOBase):
    """Bytes written here become error-log lines."""

    def __init__(self, write, state=None):
        self._write = write
        self._state = state

    def writable(self):
        return True

    def write(self, data):
        data = bytes(data)
        if self._state is None:
            self._write(data)
        else:
            self._write(self._state, data)
        return len(data)


def _text_stream(raw):
    stream = io.TextIOWrapper(raw, encoding='utf-8', errors='replace', line_buffering=True, write_through=True)
    stream.mode = 'w'
    return stream


class _Errors:
    """wsgi.errors: text written becomes error-log lines of this request. A plain object, as
    mod_wsgi's Log is: a TextIOWrapper over a raw stream costs more to build, per request,
    than most requests spend writing to it."""

    __slots__ = ('_state',)
    encoding = 'utf-8'
    errors = 'replace'
    mode = 'w'
    name = 'wsgi.errors'
    line_buffering = True
    closed = False

    def __init__(self, state):
        self._state = state

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f'write() argument must be str, not {type(text).__name__}')
        _log(self._state, text.encode('utf-8', 'replace'))
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass

    def close(self):
        pass

    def isatty(self):
        return False

    def readable(self):
        return False

    def writable(self):
        return True

    def seekable(self):
        return False

    def fileno(self):
        raise io.UnsupportedOperation('wsgi.errors has no file descriptor')

    @property
    def buffer(self):
        """The bytes side, as a TextIOWrapper has (mod_wsgi 6's wsgi.errors is one)."""
        return _ErrorsBuffer(self._state)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _ErrorsBuffer:
    """wsgi.errors.buffer: bytes-like data written here become error-log lines."""

    __slots__ = ('_state',)
    mode = 'wb'
    closed = False

    def __init__(self, state):
        self._state = state

    def write(self, data):
        data = bytes(data)
        _log(self._state, data)
        return len(data)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass

    def writable(self):
        return True


def _errors_for(state):
    return _Errors(state)


class _Restricted:
    """Stands in for a standard stream the configuration forbids (WSGIRestrictStdin/Stdout)."""

    def __init__(self, name):
        object.__setattr__(self, '_name', name)

    def __getattr__(self, attr):
        raise OSError('sys.%s access restricted by mod_wsgi' % self._name)


def _setup_interpreter(restrict_stdin, restrict_stdout, restrict_signal, switch_interval, python_eggs):
    # print() and sys.stderr go to the error log, decorated with the request being served.
    sys.stdout = _Restricted('stdout') if restrict_stdout else _text_stream(_LogStream(_process_log))
    sys.stderr = _text_stream(_LogStream(_process_log))
    if restrict_stdin:
        sys.stdin = _Restricted('stdin')
    if restrict_signal:
        _restrict_signals()
    if switch_interval is not None:
        sys.setswitchinterval(switch_interval)
    if python_eggs:
        os.environ['PYTHON_EGG_CACHE'] = python_eggs


def _restrict_signals():
    # Apache owns the process's signals: an application registering a handler would break
    # its shutdown and restarts. Registration is ignored and logged, as mod_wsgi does.
    import signal
    import traceback
    original = signal.signal

    def restricted_signal(signum, handler):
        if os.getpid() != _owner_pid:
            return original(signum, handler)
        stack = ''.join(traceback.format_stack()[:-1])
        sys.stderr.write('mod_wsgi: Callback registration for signal %s ignored.\n' % signum)
        for line in stack.splitlines():
            sys.stderr.write(line + '\n')
        return handler

    signal.signal = restricted_signal


_owner_pid = os.getpid()


def _add_python_path(entries):
    # As mod_wsgi: site.addsitedir() each (so .pth files work), then move what was added
    # to the front of sys.path.
    import site
    before = list(sys.path)
    for entry in entries:
        site.addsitedir(entry)
    added = [p for p in sys.path if p not in before]
    sys.path[:] = added + [p for p in sys.path if p not in added]


# --- reloading -----------------------------------------------------------------------------
# mod_wsgi re-executes a touched script but keeps every module it imported, so an edited
# submodule is still served stale. We also drop the application's own modules (anything not
# in the standard library or site-packages) that changed on disk or that the script loaded.

def _system_dirs():
    dirs = set()
    for key in ('stdlib', 'platstdlib', 'purelib', 'platlib'):
        path = sysconfig.get_paths().get(key)
        if path:
            dirs.add(os.path.realpath(path))
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}:
        dirs.add(os.path.realpath(os.path.join(prefix, 'lib')))
    try:
        import site
        dirs.update(os.path.realpath(p) for p in site.getsitepackages())
    except Exception:
        pass
    return tuple(d.rstrip(os.sep) + os.sep for d in dirs)


_SYSTEM_DIRS = None


def _application_modules():
    """{name: (file, mtime)} of loaded modules that belong to the application."""
    global _SYSTEM_DIRS
    if _SYSTEM_DIRS is None:
        _SYSTEM_DIRS = _system_dirs()
    found = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, '__file__', None)
        if not path or name.startswith('_mod_wsgi_'):
            continue
        try:
            real = os.path.realpath(path)
            if real.startswith(_SYSTEM_DIRS):
                continue
            found[name] = (real, os.stat(real).st_mtime_ns)
        except (OSError, TypeError, ValueError):
            continue
    return found


def _snapshot_before_load():
    return set(sys.modules)


def _record_after_load(before):
    """What a script's import pulled in, for the next reload: (its own app modules, mtimes)."""
    modules = _application_modules()
    own = {name for name in modules if name not in before}
    return own, modules


def _purge_for_reload(record):
    """Drops the script's own modules and any application module changed since the load."""
    if record is None:
        return []
    own, seen = record
    now = _application_modules()
    stale = set(n for n in own if n in sys.modules)
    stale.update(n for n, (path, mtime) in now.items() if n in seen and seen[n][1] != mtime)
    for name in stale:
        module = sys.modules.pop(name, None)
        path = getattr(module, '__file__', None)
        if path and path.endswith('.py'):
            # A byte-code cache written in the same second as the edit would look fresh.
            try:
                import importlib.util
                os.unlink(importlib.util.cache_from_source(path))
            except (OSError, NotImplementedError, ValueError):
                pass
    if stale:
        import importlib
        importlib.invalidate_caches()
    return sorted(stale)


def _sendfile_info(wrapper):
    """(fd, offset, size) when a FileWrapper's file can be sent by the server, else None."""
    import stat
    filelike = wrapper.filelike
    try:
        fd = filelike.fileno()
        offset = filelike.tell()
        info = os.fstat(fd)
    except Exception:
        return None
    if not stat.S_ISREG(info.st_mode) or offset > info.st_size:
        return None
    return fd, offset, info.st_size


# --- the documented mod_wsgi API (reference §9) -----------------------------------------------

class RequestTimeout(BaseException):
    """Raised in a request's thread when it exceeds request-timeout (daemon mode)."""


def _make_log_handler():
    import logging

    class LogHandler(logging.Handler):
        """A logging handler writing to Apache's error log at the matching level."""

        def emit(self, record):
            try:
                message = self.format(record)
            except Exception:
                self.handleError(record)
                return
            _log_record(record.levelno, message)

    LogHandler.__module__ = __name__
    return LogHandler


def __getattr__(name):
    # mod_wsgi.LogHandler is made on first use: importing logging costs every interpreter
    # ~2.5 MB that applications which never log would carry.
    if name == 'LogHandler':
        globals()['LogHandler'] = handler = _make_log_handler()
        return handler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {'LogHandler'})


event_callbacks = []
shutdown_callbacks = []
signal_callbacks = []
active_requests = {}

# Non-empty while anything needs per-request hooks (event subscribers, metrics recording):
# the server checks only its length on the hot path.
_hooks_wanted = []


def _refresh_hooks():
    _hooks_wanted[:] = [True] if (event_callbacks or _metrics is not None) else []


def subscribe_events(callback):
    event_callbacks.append(callback)
    _refresh_hooks()
    return callback


def subscribe_shutdown(callback):
    shutdown_callbacks.append(callback)
    return callback


def subscribe_signals(callback):
    signal_callbacks.append(callback)
    return callback


def request_data():
    """The current request's dict, shared with event callbacks."""
    return _request_data()


def _publish(name, **event):
    for callback in list(event_callbacks):
        try:
            result = callback(name, **event)
        except Exception:
            import traceback
            sys.stderr.write('mod_wsgi: exception in event callback %r for %s:\n%s' % (callback, name, traceback.format_exc()))
            continue
        if isinstance(result, dict):
            event.update(result)
    return event


class _Metrics:
    def __init__(self):
        import time
        self.started = time.time()
        self.interval_start = self.started
        self.requests = 0
        self.request_time = 0.0
        self.application_time = 0.0
        self.total_requests = 0


_metrics = None


def start_recording_metrics():
    global _metrics
    if _metrics is None:
        _metrics = _Metrics()
    _refresh_hooks()


def request_metrics():
    """Aggregates since the previous call (None until start_recording_metrics())."""
    if _metrics is None:
        return None
    import time
    now = time.time()
    m = _metrics
    elapsed = max(now - m.interval_start, 1e-9)
    result = {
        'start_time': m.interval_start,
        'stop_time': now,
        'request_count': m.requests,
        'request_throughput': m.requests / elapsed,
        'server_time': m.request_time / m.requests if m.requests else 0.0,
        'application_time': m.application_time / m.requests if m.requests else 0.0,
        'capacity_utilization': m.application_time / (elapsed * max(threads_per_process, 1)),
    }
    m.interval_start, m.requests, m.request_time, m.application_time = now, 0, 0.0, 0.0
    return result


def process_metrics():
    """Process-wide figures (None until start_recording_metrics())."""
    if _metrics is None:
        return None
    import resource
    import time
    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss = 0
    try:
        with open('/proc/self/statm') as statm:
            rss = int(statm.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
    except (OSError, ValueError, IndexError):
        pass
    return {
        'pid': os.getpid(),
        'current_time': time.time(),
        'running_time': time.time() - _metrics.started,
        'request_count': _metrics.total_requests,
        'active_requests': len(active_requests),
        'threads': threading.active_count(),
        'cpu_user_time': usage.ru_utime,
        'cpu_system_time': usage.ru_stime,
        'memory_rss': rss,
        'memory_max_rss': usage.ru_maxrss * 1024,
        'process_group': process_group,
        'application_group': application_group,
    }


_server_metrics_enabled = False


def server_metrics():
    """None unless WSGIServerMetrics On (or server-metrics=On for a daemon pool)."""
    if not _server_metrics_enabled:
        return None
    import time
    return {
        'current_time': time.time(),
        'server_limit': maximum_processes,
        'thread_limit': threads_per_process,
        'process_group': process_group,
    }


def _request_started(environ, application):
    """Called before the application when hooks are wanted; returns (application, token)."""
    import time
    data = _request_data()
    key = environ.get('mod_wsgi.request_id') or id(data)
    active_requests[key] = data
    start = time.time()
    if event_callbacks:
        event = _publish('request_started', request_data=data, environ=environ,
                         application_object=application, request_start=environ.get('mod_wsgi.request_start'))
        application = event.get('application_object', application)
    return application, (key, start, data)


def _response_started(status, headers):
    if event_callbacks:
        _publish('response_started', request_data=_request_data(), response_status=status, response_headers=headers)


def _request_exception(exc):
    if event_callbacks:
        _publish('request_exception', request_data=_request_data(), exception_info=(type(exc), exc, exc.__traceback__))


def _request_finished(token, output_length):
    import time
    key, start, data = token
    active_requests.pop(key, None)
    now = time.time()
    if _metrics is not None:
        _metrics.requests += 1
        _metrics.total_requests += 1
        _metrics.application_time += now - start
        _metrics.request_time += now - start
    if event_callbacks:
        _publish('request_finished', request_data=data, application_time=now - start, output_length=output_length)


def _process_stopping(reason):
    # Python flushes sys.stdout while finalising; a restricted stand-in would log a traceback.
    if isinstance(sys.stdout, _Restricted):
        sys.stdout = _text_stream(_LogStream(_process_log))
    for callback in list(shutdown_callbacks):
        try:
            callback('process_stopping', reason=reason)
        except Exception:
            import traceback
            sys.stderr.write('mod_wsgi: exception in shutdown callback %r:\n%s' % (callback, traceback.format_exc()))
    if event_callbacks:
        _publish('process_stopping', reason=reason)
