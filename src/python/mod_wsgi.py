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
    # type(sys.stdin) reads mod_wsgi.Restricted, as under mod_wsgi 6

    def __init__(self, name):
        object.__setattr__(self, '_name', name)

    def __getattr__(self, attr):
        raise OSError('sys.%s access restricted by mod_wsgi' % self._name)


_Restricted.__name__ = _Restricted.__qualname__ = 'Restricted'


def _setup_interpreter(restrict_stdin, restrict_stdout, restrict_signal, switch_interval, python_eggs):
    global _process_start
    _process_start = _now()
    sys.meta_path.insert(0, _import_owners)
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


class _ImportOwners:
    """A sys.meta_path entry that finds nothing: it notes which script's load or request
    first imported each module, so a reload can drop everything that script brought in,
    frameworks included (Django imports its URLconf and views at the first request and
    caches its resolver: dropping only the script's own modules leaves it stale)."""

    def __init__(self):
        self.owner = {}                 # module name -> script path
        self.loading = threading.local()

    def find_spec(self, name, path=None, target=None):
        if name not in sys.modules:
            script = getattr(self.loading, 'script', None) or _current_script()
            if script:
                self.owner.setdefault(name, script)
        return None

    def invalidate_caches(self):
        pass


_import_owners = _ImportOwners()
_STDLIB = tuple({sysconfig.get_paths()[k] for k in ('stdlib', 'platstdlib')})


def _is_reloadable(module):
    """Pure-Python modules outside the standard library: the application's and its
    frameworks'. Extension modules stay (most cannot be initialised twice)."""
    path = getattr(module, '__file__', None)
    if not path or not path.endswith('.py'):
        return False
    return '-packages' in path or not path.startswith(_STDLIB)


def _snapshot_before_load(script):
    _import_owners.loading.script = script
    return set(sys.modules)


def _record_after_load(before):
    """What a script's import pulled in, for the next reload: (its own app modules, mtimes)."""
    _import_owners.loading.script = None
    modules = _application_modules()
    own = {name for name in modules if name not in before}
    return own, modules


def _purge_for_reload(record, script):
    """Drops what the script imported (at load or in its requests, frameworks included) and
    any application module changed on disk since the load."""
    if record is None:
        return []
    own, seen = record
    now = _application_modules()
    stale = set(n for n in own if n in sys.modules)
    stale.update(n for n, (path, mtime) in now.items() if n in seen and seen[n][1] != mtime)
    owner = _import_owners.owner
    stale.update(n for n, s in list(owner.items())
                 if s == script and n in sys.modules and _is_reloadable(sys.modules[n]))
    for name in stale:
        owner.pop(name, None)
        module = sys.modules.pop(name, None)
        path = getattr(module, '__file__', None)
        if path and path.endswith('.py') and '-packages' not in path:
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


# What a module import or a helper class of ours would add to dir(mod_wsgi): mod_wsgi 6's
# module shows only its API.
_NOT_API = {'io', 'os', 'sys', 'sysconfig', 'threading', 'Input', 'active_starts', 'Restricted'}


def __dir__():
    return sorted((set(globals()) | {'LogHandler'}) - _NOT_API)


event_callbacks = []
shutdown_callbacks = []
signal_callbacks = []
active_requests = {}

# Non-empty while anything needs per-request hooks (event subscribers, metrics recording):
# the server checks only its length on the hot path.
_hooks_wanted = []


def _refresh_hooks():
    _hooks_wanted[:] = [True] if (event_callbacks or _sample is not None) else []


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


# --- metrics (mod_wsgi 6's request_metrics/process_metrics/server_metrics keys) ---------------

# request_metrics() phases: each gets a mean, min/max in microseconds and a histogram.
_PHASES = ('server_time', 'queue_time', 'daemon_time', 'application_time', 'request_time',
           'gil_wait_time', 'input_read_time', 'output_write_time')
_BUCKETS = 65


def _bucket(seconds):
    """mod_wsgi 6's histogram: below 1 ms, then 16 octaves of 1 ms .. 65.536 s in 4 linear
    steps each, then everything longer."""
    import math
    ms = seconds * 1000.0
    if ms < 1.0:
        return 0
    if ms >= 65536.0:
        return _BUCKETS - 1
    mantissa, exp = math.frexp(ms)
    return (exp - 1) * 4 + min(int((2.0 * mantissa - 1.0) * 4.0), 3)


class _Phase:
    __slots__ = ('total', 'count', 'min_us', 'max_us', 'buckets')

    def __init__(self):
        self.total, self.count, self.min_us, self.max_us = 0.0, 0, None, 0
        self.buckets = [0] * _BUCKETS

    def add(self, seconds):
        seconds = max(seconds, 0.0)
        us = int(seconds * 1e6)
        self.total += seconds
        self.count += 1
        self.min_us = us if self.min_us is None else min(self.min_us, us)
        self.max_us = max(self.max_us, us)
        self.buckets[_bucket(seconds)] += 1


class _Sample:
    """What request_metrics() reports: the requests finished since the previous call."""

    def __init__(self, now):
        self.start = now
        self.cpu = _process_cpu()
        self.phases = {name: _Phase() for name in _PHASES}
        self.status = [0] * 5
        self.requests = 0
        self.gil_wait_count = 0
        self.input_bytes = self.input_reads = self.output_bytes = self.output_writes = 0
        self.threads = {}   # thread_id -> [completed, busy, cpu, max_duration]


def _process_cpu():
    import resource
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def _thread_cpu():
    import resource
    usage = resource.getrusage(resource.RUSAGE_THREAD)
    return usage.ru_utime, usage.ru_stime


def _memory():
    import resource
    rss = 0
    try:
        with open('/proc/self/statm') as statm:
            rss = int(statm.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
    except (OSError, ValueError, IndexError):
        pass
    return rss, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


_sample = None
_process_start = None


def _now():
    import time
    return time.time()


def start_recording_metrics():
    global _sample
    if _sample is None:
        _sample = _Sample(_now())
    _refresh_hooks()


def _record(event):
    """Adds a finished request's event to the current sample."""
    m = _sample
    request_start = event['request_start'] or event['application_start']
    queue_start = event['queue_start'] or 0.0
    daemon_start = event['daemon_start'] or 0.0
    app_start = event['application_start']
    finish = event['application_finish']
    phases = m.phases
    if queue_start:
        phases['server_time'].add(queue_start - request_start)
        phases['queue_time'].add((daemon_start or app_start) - queue_start)
        phases['daemon_time'].add(app_start - (daemon_start or app_start))
    else:
        phases['server_time'].add(app_start - request_start)
        phases['queue_time'].add(0.0)
        phases['daemon_time'].add(0.0)
    phases['application_time'].add(finish - app_start)
    phases['request_time'].add(finish - request_start)
    phases['gil_wait_time'].add(event['gil_wait_time'])
    phases['input_read_time'].add(event['input_time'])
    phases['output_write_time'].add(event['output_time'])
    m.requests += 1
    m.gil_wait_count += event['gil_wait_count']
    m.input_bytes += event['input_length']
    m.input_reads += event['input_reads']
    m.output_bytes += event['output_length']
    m.output_writes += event['output_writes']
    status = event['status']
    if 100 <= status < 600:
        m.status[status // 100 - 1] += 1
    slot = m.threads.setdefault(event['thread_id'], [0, 0.0, 0.0, 0.0])
    slot[0] += 1
    slot[1] += finish - app_start
    slot[2] += event['cpu_time']
    slot[3] = max(slot[3], finish - app_start)


# Set at start-up when WSGITelemetryService is configured: the reporter is the metrics
# consumer then, and request_metrics()/process_metrics() say so by returning None.
_telemetry_enabled = False


def _start_gc_events():
    """Times every collection of this interpreter for the telemetry reporter (_gc_callback
    is native: it runs on each pass)."""
    import gc
    if _gc_callback not in gc.callbacks:
        gc.callbacks.append(_gc_callback)


def request_metrics():
    """The requests finished since the previous call (None until start_recording_metrics(),
    and None under WSGITelemetryService)."""
    global _sample
    if _sample is None or _telemetry_enabled:
        return None
    now = _now()
    m, _sample = _sample, _Sample(now)
    period = max(now - m.start, 1e-9)
    user, system = (a - b for a, b in zip(_sample.cpu, m.cpu))
    rss, max_rss = _memory()
    threads = max(threads_per_process, 1)
    busy = sum(slot[1] for slot in m.threads.values())
    slots = sorted(m.threads)
    result = {
        'pid': os.getpid(),
        'start_time': m.start,
        'stop_time': now,
        'sample_period': period,
        'request_count': m.requests,
        'request_throughput': m.requests / period,
        'capacity_utilization': busy / period / threads,
        'cpu_user_time': user,
        'cpu_system_time': system,
        'cpu_time': user + system,
        'cpu_user_utilization': user / period,
        'cpu_system_utilization': system / period,
        'cpu_utilization': (user + system) / period,
        'memory_rss': rss,
        'memory_max_rss': max_rss,
        'gil_wait_count': m.gil_wait_count,
        'input_bytes': m.input_bytes,
        'input_reads': m.input_reads,
        'output_bytes': m.output_bytes,
        'output_writes': m.output_writes,
        'request_threads_maximum': threads,
        'request_threads_started': len(_threads_seen),
        'request_threads_active': len(m.threads),
        'request_threads_buckets': [m.threads[t][0] for t in slots],
        'request_threads_completed': [m.threads[t][0] for t in slots],
        'request_threads_busy_time': [m.threads[t][1] for t in slots],
        'request_threads_cpu_time': [m.threads[t][2] for t in slots],
        'request_threads_max_duration': [m.threads[t][3] for t in slots],
        'request_threads_current_elapsed': [now - started for started in active_starts()],
    }
    for n, count in enumerate(m.status, 1):
        result[f'status_{n}xx'] = count
    for name, phase in m.phases.items():
        result[name] = phase.total / phase.count if phase.count else 0.0
        result[f'{name}_min_us'] = phase.min_us or 0
        result[f'{name}_max_us'] = phase.max_us
        result[f'{name}_buckets'] = phase.buckets
    return result


def active_starts():
    return [token[1] for token in _active_tokens.values()]


def process_metrics():
    """Figures for this process since it started (None under WSGITelemetryService)."""
    if _telemetry_enabled:
        return None
    import time
    user, system = _process_cpu()
    rss, max_rss = _memory()
    requests, busy = _process_counters()
    now = time.time()
    return {
        'pid': os.getpid(),
        'current_time': now,
        'restart_time': _process_start,
        'running_time': now - _process_start,
        'request_count': requests,
        'request_busy_time': busy,
        'request_threads': len(_threads_seen),
        'active_requests': len(active_requests),
        'threads': threading.active_count(),
        'cpu_user_time': user,
        'cpu_system_time': system,
        'cpu_time': user + system,
        'memory_rss': rss,
        'memory_max_rss': max_rss,
    }


_server_metrics_enabled = False


def server_metrics():
    """None unless WSGIServerMetrics On (or server-metrics=On for a daemon pool). Describes
    this process only: mod_wsgi_rs does not read Apache's scoreboard."""
    if not _server_metrics_enabled:
        return None
    now = _now()
    return {
        'current_time': now,
        'restart_time': _process_start,
        'running_time': now - _process_start,
        'running_generation': 0,
        'server_limit': maximum_processes,
        'thread_limit': threads_per_process,
        'processes': [{'pid': os.getpid(), 'request_count': _process_counters()[0]}],
    }


# --- events (mod_wsgi 6's names and keys) ----------------------------------------------------

_threads_seen = set()
_active_tokens = {}


def _request_started(environ, application):
    """Called before the application when hooks are wanted; returns (application, token)."""
    data = _request_data()
    request_id = environ.get('mod_wsgi.request_id')
    key = request_id or id(data)
    active_requests[key] = data
    thread_id = environ.get('mod_wsgi.thread_id', 0)
    _threads_seen.add(thread_id)
    common = {
        'request_id': request_id,
        'thread_id': thread_id,
        'server_pid': int(environ.get('mod_wsgi.server_pid') or 0),
        'request_start': environ.get('mod_wsgi.request_start'),
        'queue_start': environ.get('mod_wsgi.queue_start'),
        'daemon_start': environ.get('mod_wsgi.daemon_start'),
    }
    token = (key, _now(), data, common, _thread_cpu(), environ.get('mod_wsgi.application_start'))
    _active_tokens[key] = token
    if event_callbacks:
        event = _publish('request_started', request_data=data, request_environ=environ,
                         application_object=application,
                         application_start=environ.get('mod_wsgi.application_start'),
                         callable_object=environ.get('mod_wsgi.callable_object'),
                         daemon_connects=int(environ.get('mod_wsgi.x-daemon_connects') or 0),
                         daemon_restarts=int(environ.get('mod_wsgi.x-daemon_restarts') or 0),
                         **common)
        application = event.get('application_object', application)
    return application, token


def _response_started(status, headers, exc_info=None):
    if event_callbacks:
        data = _request_data()
        _publish('response_started', request_data=data, request_id=_current_request_id(data),
                 response_status=status, response_headers=headers, exception_info=exc_info)


def _current_request_id(data):
    for key, token in _active_tokens.items():
        if token[2] is data:
            return token[3]['request_id']
    return None


def _request_exception(exc):
    if event_callbacks:
        data = _request_data()
        _publish('request_exception', request_data=data, request_id=_current_request_id(data),
                 exception_info=(type(exc), exc, exc.__traceback__))


def _request_finished(token, output_length):
    key, start, data, common, cpu_start, application_start = token
    active_requests.pop(key, None)
    _active_tokens.pop(key, None)
    if _sample is None and not event_callbacks:
        return
    finish = _now()
    (input_reads, input_length, input_time, _sent, output_writes, output_time, status,
     gil_wait_time, gil_wait_count) = _request_stats()
    user, system = (a - b for a, b in zip(_thread_cpu(), cpu_start))
    event = dict(common,
                 application_start=application_start or start,
                 application_finish=finish,
                 application_time=finish - (application_start or start),
                 input_reads=input_reads, input_length=input_length, input_time=input_time,
                 output_length=output_length, output_writes=output_writes,
                 output_time=output_time, status=status,
                 cpu_user_time=user, cpu_system_time=system, cpu_time=user + system,
                 gil_wait_time=gil_wait_time, gil_wait_count=gil_wait_count)
    if _sample is not None:
        _record(event)
    if event_callbacks:
        event.pop('application_start')
        _publish('request_finished', request_data=data, **event)


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
