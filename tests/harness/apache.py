"""Start and stop a real Debian Apache (/usr/sbin/apache2) with mod_wsgi_rs loaded.

Every instance gets its own world-readable ServerRoot under /tmp (Apache's
children run as www-data and must be able to read the module, the apps and the
Python home), a free loopback port, and a generated httpd.conf made of a fixed
base (MPM, the few stock modules we need, logs, pid file, mutexes) plus a
caller-supplied fragment.

Placeholders in fragments:  @ROOT@ (ServerRoot), @APPS@ (copy of tests/apps),
@MARKERS@ (a directory www-data may write to), @PORT@, @VENV@ (python home).

The same code renders the `make run` configuration (see harness.example), so
the configuration the user runs is the one the seed-scenario test checks.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import cores

REPO = Path(__file__).resolve().parents[2]
TESTS_DIR = REPO / "tests"
APPS_DIR = TESTS_DIR / "apps"
APACHE_BIN = "/usr/sbin/apache2"
APACHE_MODULES = Path("/usr/lib/apache2/modules")
DEFAULT_SO = REPO / "target" / "release" / "libmod_wsgi_rs.so"

START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0

# The environment Apache is started with: like Debian's /etc/apache2/envvars,
# nothing from the caller's shell (no PYTHON*, no pyenv in PATH) leaks in.
APACHE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C",
}

# Lines in an error log that mean an Apache child died badly.
CRASH_PATTERNS = re.compile(
    r"exit signal (Segmentation fault|Aborted|Bus error|Illegal instruction|"
    r"Floating point exception)|AH00052|Segmentation fault|"
    r"panicked at|RUST_BACKTRACE|Fatal Python error",
)

# Apache had to repeat SIGTERM / use SIGKILL on its children at shutdown.
HANG_PATTERNS = re.compile(r"AH00045|AH00046|still did not exit")

# One event-MPM child of 25 threads: consecutive requests meet the same interpreters, so
# per-process state (module counters, event lists) is deterministic.
ONE_EVENT_CHILD = """\
<IfModule mpm_event_module>
    StartServers            1
    ServerLimit             1
    MinSpareThreads         1
    MaxSpareThreads         25
    ThreadLimit             25
    ThreadsPerChild         25
    MaxRequestWorkers       25
    MaxConnectionsPerChild  0
</IfModule>
"""

MPM_CONFIG = {
    "event": """\
<IfModule mpm_event_module>
    StartServers            2
    ServerLimit             16
    MinSpareThreads         25
    MaxSpareThreads         75
    ThreadLimit             64
    ThreadsPerChild         25
    MaxRequestWorkers       150
    MaxConnectionsPerChild  0
</IfModule>
""",
    "worker": """\
<IfModule mpm_worker_module>
    StartServers            2
    ServerLimit             16
    MinSpareThreads         25
    MaxSpareThreads         75
    ThreadLimit             64
    ThreadsPerChild         25
    MaxRequestWorkers       150
    MaxConnectionsPerChild  0
</IfModule>
""",
    "prefork": """\
<IfModule mpm_prefork_module>
    StartServers            4
    MinSpareServers         4
    MaxSpareServers         10
    MaxRequestWorkers       150
    MaxConnectionsPerChild  0
</IfModule>
""",
}

# Stock modules every instance loads, and extras a test may ask for.
BASE_MODULES = ["authz_core", "mime", "alias", "dir", "setenvif"]
KNOWN_MODULES = {
    "authz_core", "authz_host", "authz_user", "authn_core", "authn_file",
    "auth_basic", "mime", "alias", "dir", "setenvif", "deflate", "filter",
    "headers", "env", "rewrite", "include",
}


class ApacheError(Exception):
    """Apache failed to start, to stop, or crashed."""


def module_so_path():
    """The mod_wsgi_rs shared object under test (env MOD_WSGI_RS_SO)."""
    return Path(os.environ.get("MOD_WSGI_RS_SO", str(DEFAULT_SO))).resolve()


def default_python_home():
    """The virtualenv Apache should use as WSGIPythonHome.

    env MOD_WSGI_RS_VENV wins; else the virtualenv running this code (pytest is
    run with $(VENV)/bin/python); else None (system Python)."""
    env = os.environ.get("MOD_WSGI_RS_VENV")
    if env:
        return env
    if sys.prefix != sys.base_prefix:
        return sys.prefix
    return None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port, host="127.0.0.1", timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def make_world_readable(path):
    """chmod -R a+rX"""
    path = Path(path)
    for p in [path, *path.rglob("*")]:
        if p.is_symlink():
            continue
        mode = p.stat().st_mode
        extra = 0o444 | (0o111 if p.is_dir() or mode & 0o111 else 0)
        p.chmod(mode | extra)


def _proc_state(pid):
    """'R', 'S', 'Z', ... or None if the process does not exist."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rindex(")") + 2]


def _proc_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _proc_ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    return int(data[data.rindex(")") + 2:].split()[1])


def rss_kb(pid):
    """Resident set size of a process in kB (0 if gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


_live = []


def live_servers():
    """Instances started and not yet stopped (used to dump logs on failure)."""
    return list(_live)


class Apache:
    """One Apache instance with its own ServerRoot.

    Parameters:
      fragment      config appended after the base (placeholders, see module doc)
      mpm           'event' | 'worker' | 'prefork'
      mpm_config    replaces the default MPM tuning block
      modules       extra stock modules to load (e.g. ['deflate', 'filter'])
      log_level     Apache LogLevel
      python_home   WSGIPythonHome; default: the running virtualenv; None: omit
      global_application_group  emit `WSGIApplicationGroup %{GLOBAL}` (this step
                    runs everything in the main interpreter)
      copy_apps     copy tests/apps into <root>/apps
      port          default: a free port
      listen_host   address of the Listen directive (default 127.0.0.1)
      error_log / access_log   default: files under <root>/logs
      name          used in the temp dir name
      module_so     the wsgi_module to load (default: ours, module_so_path());
                    the differential tests pass mod_wsgi 6's here
    """

    def __init__(self, fragment="", *, mpm="event", mpm_config=None, modules=(),
                 log_level="info", python_home="default",
                 global_application_group=True, copy_apps=True, port=None,
                 error_log=None, access_log=None, name="test", root=None,
                 load_wsgi=True, listen_host="127.0.0.1", module_so=None):
        if mpm not in MPM_CONFIG:
            raise ValueError(f"unknown MPM {mpm!r}")
        for m in modules:
            if m not in KNOWN_MODULES:
                raise ValueError(f"unknown module {m!r}")
        self.mpm = mpm
        self.mpm_config = mpm_config if mpm_config is not None else MPM_CONFIG[mpm]
        self.modules = list(dict.fromkeys(BASE_MODULES + list(modules)))
        self.log_level = log_level
        self.python_home = (default_python_home() if python_home == "default"
                            else python_home)
        self.global_application_group = global_application_group
        self.load_wsgi = load_wsgi
        self.port = port or free_port()
        self.listen_host = listen_host
        if root is None:
            root = tempfile.mkdtemp(prefix=f"mod_wsgi_rs-{name}-", dir="/tmp")
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        self.conf = self.root / "httpd.conf"
        self.run_dir = self.root / "run"
        self.logs_dir = self.root / "logs"
        self.apps = self.root / "apps"
        self.markers = self.root / "markers"
        self.core_dir = self.root / "cores"
        self.htdocs = self.root / "htdocs"
        self.pidfile = self.run_dir / "apache2.pid"
        self.error_log_path = Path(error_log) if error_log else self.logs_dir / "error.log"
        self.access_log_path = Path(access_log) if access_log else self.logs_dir / "access.log"
        self.module_so = Path(module_so) if module_so else None
        self.so_installed = self.root / "modules" / (
            self.module_so.name if self.module_so else "mod_wsgi_rs.so")
        self.parent_pid = None
        self._known_pids = set()
        self._started = False

        for d in (self.run_dir, self.logs_dir, self.htdocs, self.so_installed.parent):
            d.mkdir(parents=True, exist_ok=True)
        self.markers.mkdir(exist_ok=True)
        if copy_apps:
            shutil.copytree(APPS_DIR, self.apps, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            self.apps.mkdir(exist_ok=True)
        if load_wsgi:
            so = self.module_so or module_so_path()
            if not so.exists():
                raise ApacheError(
                    f"{so} does not exist: build the module first (make build) "
                    f"or point MOD_WSGI_RS_SO at it")
            shutil.copy2(so, self.so_installed)
        make_world_readable(self.root)
        # www-data writes marker files here (close() recorder etc.)
        os.chmod(self.markers, 0o777)
        self.core_dir.mkdir(exist_ok=True)
        os.chmod(self.core_dir, 0o777)  # children dump as www-data
        self.fragment = self.expand(fragment)
        self.write_config()

    # ------------------------------------------------------------------ config

    def expand(self, text):
        return (text.replace("@ROOT@", str(self.root))
                .replace("@APPS@", str(self.apps))
                .replace("@MARKERS@", str(self.markers))
                .replace("@PORT@", str(self.port))
                .replace("@VENV@", str(self.python_home or "")))

    def render_config(self):
        mpm_so = APACHE_MODULES / f"mod_mpm_{self.mpm}.so"
        lines = [
            "# Generated by tests/harness (mod_wsgi_rs). Do not edit.",
            f'ServerRoot "{self.root}"',
            f'DefaultRuntimeDir "{self.run_dir}"',
            f'PidFile "{self.pidfile}"',
            f"Mutex file:{self.run_dir} default",
            f"Listen {self.listen_host}:{self.port}",
            "ServerName 127.0.0.1",
            "User www-data",
            "Group www-data",
            "Timeout 60",
            "KeepAlive On",
            "MaxKeepAliveRequests 100",
            "KeepAliveTimeout 5",
            # Bounds graceful-stop (test teardown) when a request is still running.
            "GracefulShutdownTimeout 5",
            f'CoreDumpDirectory "{self.core_dir}"',
            f'ErrorLog "{self.error_log_path}"',
            f"LogLevel {self.log_level}",
            'LogFormat "%h %l %u %t \\"%r\\" %>s %b %D %P" harness',
            f'CustomLog "{self.access_log_path}" harness',
            "",
            f"LoadModule mpm_{self.mpm}_module {mpm_so}",
            self.mpm_config.rstrip("\n"),
            "",
        ]
        for m in self.modules:
            lines.append(f"LoadModule {m}_module {APACHE_MODULES}/mod_{m}.so")
        lines += [
            "",
            "TypesConfig /etc/mime.types",
            f'DocumentRoot "{self.htdocs}"',
            "<Directory />",
            "    AllowOverride None",
            "    Require all denied",
            "</Directory>",
            f'<Directory "{self.htdocs}">',
            "    Require all granted",
            "</Directory>",
            f'<Directory "{self.apps}">',
            "    Require all granted",
            "</Directory>",
            "",
        ]
        if self.load_wsgi:
            lines.append(f'LoadModule wsgi_module "{self.so_installed}"')
            if self.python_home:
                lines.append(f'WSGIPythonHome "{self.python_home}"')
            if self.global_application_group:
                lines.append("WSGIApplicationGroup %{GLOBAL}")
            # server-wide directives a whole run is repeated with (e.g. WSGIPerInterpreterGIL On)
            extra = os.environ.get("MOD_WSGI_RS_WSGI_CONF")
            if extra and self.so_installed.name.startswith("mod_wsgi_rs"):
                lines.append(extra)
        lines += ["", "# ---- test fragment ----", self.fragment, ""]
        return "\n".join(lines)

    def write_config(self):
        self.conf.write_text(self.render_config())
        os.chmod(self.conf, 0o644)

    def conf_line_of(self, text):
        """1-based line number of the first line of httpd.conf containing text."""
        for n, line in enumerate(self.conf.read_text().splitlines(), 1):
            if text in line:
                return n
        raise KeyError(text)

    # -------------------------------------------------------------- lifecycle

    def _apache(self, *args, timeout=60):
        return subprocess.run([APACHE_BIN, "-f", str(self.conf), *args],
                              env=APACHE_ENV, stdin=subprocess.DEVNULL,
                              preexec_fn=cores.allow_core_dumps,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, errors="replace", timeout=timeout)

    def configtest(self):
        """(returncode, output) of `apache2 -t -f httpd.conf`."""
        res = self._apache("-t")
        return res.returncode, res.stdout

    def start(self, timeout=START_TIMEOUT):
        """`apache2 -k start`; wait until it listens and says it is running."""
        before = self.count_log("resuming normal operations")
        try:
            res = self._apache("-k", "start", timeout=timeout + 10)
        except subprocess.TimeoutExpired as e:
            self._kill_all()
            raise ApacheError(f"apache2 -k start did not return: {e}") from None
        if res.returncode != 0:
            self._kill_all()
            raise ApacheError(
                f"apache2 -k start failed (exit {res.returncode}):\n{res.stdout}\n"
                f"--- error log ---\n{self.error_log()}")
        _live.append(self)
        self._started = True
        deadline = time.monotonic() + timeout
        opened_at = None
        while True:
            pid = self.read_pidfile()
            if pid and _proc_state(pid) in (None, "Z"):
                self._kill_all()
                self._forget()
                raise ApacheError(
                    f"Apache parent {pid} exited during start-up:\n{res.stdout}\n"
                    f"--- error log ---\n{self.error_log()}")
            if pid:
                self.parent_pid = pid
                self._known_pids.update(self.pids())
            if pid and port_open(self.port):
                if opened_at is None:
                    opened_at = time.monotonic()
                # "resuming normal operations" is logged once the MPM runs;
                # accept the open port alone after a grace period.
                if (self.count_log("resuming normal operations") > before
                        or time.monotonic() - opened_at > 3.0):
                    break
            if time.monotonic() > deadline:
                self._kill_all()
                self._forget()
                raise ApacheError(
                    f"Apache did not come up on port {self.port} within {timeout}s:\n"
                    f"{res.stdout}\n--- error log ---\n{self.error_log()}")
            time.sleep(0.05)
        return self

    def read_pidfile(self):
        try:
            return int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def pids(self):
        """All live processes of this instance (parent, children, anything
        started with our config file on its command line)."""
        conf = str(self.conf)
        found = set()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            if _proc_state(pid) in (None, "Z"):
                continue
            if conf in _proc_cmdline(pid):
                found.add(pid)
        if self.parent_pid and _proc_state(self.parent_pid) not in (None, "Z"):
            found.add(self.parent_pid)
        return found

    def child_pids(self):
        parent = self.parent_pid
        return {p for p in self.pids() if p != parent and _proc_ppid(p) == parent}

    def alive(self):
        pid = self.parent_pid or self.read_pidfile()
        return bool(pid) and _proc_state(pid) not in (None, "Z")

    def graceful(self, timeout=START_TIMEOUT):
        """`apache2 -k graceful`; wait until the new generation is running."""
        before = self.count_log("resuming normal operations")
        res = self._apache("-k", "graceful")
        if res.returncode != 0:
            raise ApacheError(f"apache2 -k graceful failed:\n{res.stdout}")
        deadline = time.monotonic() + timeout
        while self.count_log("resuming normal operations") <= before:
            if not self.alive():
                raise ApacheError(f"Apache died during graceful restart:\n"
                                  f"{self.error_log()}")
            if time.monotonic() > deadline:
                raise ApacheError(f"graceful restart did not complete in {timeout}s:\n"
                                  f"{self.error_log()}")
            time.sleep(0.05)
        self._known_pids.update(self.pids())
        return self

    def stop(self, timeout=STOP_TIMEOUT, check_crash=True, graceful=False):
        """Stop by the pid in the PidFile (SIGTERM, or SIGWINCH = graceful-stop)
        and wait until every process of this instance is gone. Leftovers are
        killed with SIGKILL and reported as an ApacheError, as is a child crash
        found in the error log.

        Test teardown uses graceful-stop: Apache's event MPM has a rare race in
        its hard stop (the main thread closes a worker's socket while the worker
        frees it; AH00052 segfault with only Apache frames in the core), which
        would make unrelated tests flaky. Tests about stopping call stop() and
        still use SIGTERM."""
        if not self._started:
            return
        self._forget()
        pids = self.pids() | {p for p in self._known_pids
                              if _proc_state(p) not in (None, "Z")
                              and str(self.conf) in _proc_cmdline(p)}
        parent = self.read_pidfile() or self.parent_pid
        mark = self.log_mark()
        if parent and _proc_state(parent) not in (None, "Z"):
            try:
                os.kill(parent, signal.SIGWINCH if graceful else signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while True:
            left = {p for p in pids | self.pids() if _proc_state(p) not in (None, "Z")}
            if not left:
                break
            if time.monotonic() > deadline:
                for p in left:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                raise ApacheError(
                    f"Apache processes {sorted(left)} still running {timeout}s after "
                    f"SIGTERM to {parent}; killed with SIGKILL.\n"
                    f"--- error log (tail) ---\n{self.error_log_tail()}")
            time.sleep(0.05)
        # Apache escalates itself (SIGTERM again, then SIGKILL after ~10 s)
        # when children ignore the stop; that is a hang even if it finished.
        hung = [l for l in self.log_since(mark).splitlines() if HANG_PATTERNS.search(l)]
        if hung:
            raise ApacheError("Apache children did not exit when asked to stop:\n"
                              + "\n".join(hung)
                              + f"\n--- error log (tail) ---\n{self.error_log_tail()}")
        if check_crash:
            self.check_no_crash()

    def check_no_crash(self):
        """Raise ApacheError when a child crashed, with the faulting stack from
        its core. Apache's own hard-stop race (see harness.cores) is let through
        with a note on stdout, and only when every core shows exactly it."""
        crashes = self.crash_lines()
        if not crashes:
            return
        known, report = cores.explain_crashes(self.core_dir)
        only_segfaults = all("Segmentation fault" in l for l in crashes)
        if known and only_segfaults:
            print(f"note: Apache's event MPM crashed in its own hard stop "
                  f"(close_worker_sockets race), not in mod_wsgi_rs:\n{report}")
            return
        raise ApacheError("Apache child crashed:\n" + "\n".join(crashes)
                          + f"\n{report}"
                          + f"\n--- error log (tail) ---\n{self.error_log_tail()}")

    def _forget(self):
        if self in _live:
            _live.remove(self)
        self._started = False

    def _kill_all(self):
        for p in self.pids():
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def cleanup(self, remove=True):
        try:
            self.stop(graceful=True)
        finally:
            if remove and not os.environ.get("MOD_WSGI_RS_KEEP"):
                shutil.rmtree(self.root, ignore_errors=True)

    # -------------------------------------------------------------------- logs

    def error_log(self):
        try:
            return self.error_log_path.read_text(errors="replace")
        except OSError:
            return ""

    def error_log_tail(self, lines=150):
        return "\n".join(self.error_log().splitlines()[-lines:])

    def access_log(self):
        try:
            return self.access_log_path.read_text(errors="replace")
        except OSError:
            return ""

    def count_log(self, text):
        return self.error_log().count(text)

    def log_mark(self):
        """Position in the error log; pass to log_since()/wait_for_log()."""
        try:
            return self.error_log_path.stat().st_size
        except OSError:
            return 0

    def log_since(self, mark):
        try:
            with open(self.error_log_path, "rb") as f:
                f.seek(mark)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_for_log(self, pattern, mark=0, timeout=10.0):
        """Wait until regex pattern appears in the error log after mark;
        return the match. Raises AssertionError with the log on timeout."""
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_since(mark)
            m = rx.search(text)
            if m:
                return m
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{rx.pattern!r} not in error log within {timeout}s; log since mark:\n"
                    f"{text[-6000:]}")
            time.sleep(0.05)

    def crash_lines(self):
        return [l for l in self.error_log().splitlines() if CRASH_PATTERNS.search(l)]

    # ----------------------------------------------------------------- clients

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def raw(self, data, timeout=30.0):
        """Send raw bytes, return everything read until the server closes."""
        return raw_http(self.port, data, timeout=timeout)

    def __repr__(self):
        return f"<Apache {self.mpm} :{self.port} {self.root}>"


def raw_http(port, data, timeout=30.0, host="127.0.0.1"):
    if isinstance(data, str):
        data = data.encode("latin-1")
    chunks = []
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(data)
        while True:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                break
            if not b:
                break
            chunks.append(b)
    return b"".join(chunks)


def parse_raw_response(raw):
    """(status_line, headers dict lower-cased -> list, body bytes) of the first
    response in raw. The body is everything after the header block."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError(f"no complete header block in {raw[:500]!r}")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return lines[0], headers, body


def dechunk(body):
    """Decode a chunked body. Returns (data, complete) where complete says
    whether the terminating zero-size chunk was seen."""
    out = []
    pos = 0
    while True:
        end = body.find(b"\r\n", pos)
        if end < 0:
            return b"".join(out), False
        size_text = body[pos:end].split(b";")[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return b"".join(out), False
        if size == 0:
            return b"".join(out), True
        start = end + 2
        chunk = body[start:start + size]
        out.append(chunk)
        if len(chunk) < size:
            return b"".join(out), False
        pos = start + size + 2


def _recv(sock):
    try:
        return sock.recv(65536)
    except ConnectionResetError:
        return b""


class Response:
    """A response read off a raw socket, framing checked by hand."""

    def __init__(self, raw, status_line, headers, body, complete, closed):
        self.raw = raw                  # everything received
        self.status_line = status_line
        self.status = int(status_line.split()[1]) if status_line else None
        self.headers = headers          # lower-case name -> [values]
        self.body = body                # de-chunked
        self.complete = complete        # framing says the body is complete
        self.closed = closed            # server closed before/at the end

    def header(self, name):
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def __repr__(self):
        return (f"<Response {self.status_line!r} complete={self.complete} "
                f"closed={self.closed} body={self.body[:200]!r}>")


def read_response(sock, timeout=30.0, head=False):
    """Read one HTTP/1.x response from sock, honouring Content-Length and
    chunked framing (so keep-alive connections do not block)."""
    sock.settimeout(timeout)
    buf = b""
    closed = False
    while b"\r\n\r\n" not in buf:
        b = _recv(sock)
        if not b:
            closed = True
            break
        buf += b
    if b"\r\n\r\n" not in buf:
        return Response(buf, None, {}, b"", False, True)
    status_line, headers, rest = parse_raw_response(buf)
    status = int(status_line.split()[1])
    if head or status in (204, 304) or 100 <= status < 200:
        return Response(buf, status_line, headers, b"", True, closed)
    te = ",".join(headers.get("transfer-encoding", [])).lower()
    cl = headers.get("content-length")
    if "chunked" in te:
        while True:
            data, complete = dechunk(rest)
            if complete or closed:
                return Response(buf, status_line, headers, data, complete, closed)
            b = _recv(sock)
            if not b:
                closed = True
            buf += b
            rest += b
    if cl:
        n = int(cl[0])
        while len(rest) < n and not closed:
            b = _recv(sock)
            if not b:
                closed = True
            buf += b
            rest += b
        return Response(buf, status_line, headers, rest[:n], len(rest) >= n, closed)
    while not closed:  # close-delimited
        b = _recv(sock)
        if not b:
            closed = True
        buf += b
        rest += b
    return Response(buf, status_line, headers, rest, True, True)


def http_request(port, data, timeout=30.0, host="127.0.0.1"):
    """Send a raw request (str or bytes) and read one response with
    read_response(); the socket is closed afterwards."""
    if isinstance(data, str):
        data = data.encode("latin-1")
    head = data.split(b" ", 1)[0] == b"HEAD"
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(data)
        return read_response(s, timeout=timeout, head=head)
