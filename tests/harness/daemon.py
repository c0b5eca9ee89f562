"""Helpers for daemon-mode tests: finding a pool's processes and sockets,
measuring, and a small threaded HTTP client loop.

A pool's supervisor renames its thread to "wsgi-sup:NAME" (so /proc/PID/comm
shows it, cut at 15 characters); its children are the pool's daemon
processes. Keep pool names short in tests (at most 6 characters) so the comm
is unambiguous.
"""

import os
import re
import socket
import stat
import subprocess
import threading
import time

from .apache import _proc_cmdline, _proc_ppid, _proc_state


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def all_pids():
    return [int(e) for e in os.listdir("/proc") if e.isdigit()]


def children(pid):
    return {p for p in all_pids() if _proc_ppid(p) == pid and _proc_state(p) not in (None, "Z")}


def descendants(pid):
    found = set()
    todo = [pid]
    while todo:
        kids = children(todo.pop())
        todo.extend(kids - found)
        found |= kids
    return found


def supervisors(srv):
    """{name (as far as comm shows it): pid} of the pool supervisors of srv:
    the children of Apache's parent named wsgi-sup:NAME (their own children,
    the daemon processes, inherit that name unless display-name renames them)."""
    out = {}
    for p in children(srv.parent_pid or srv.read_pidfile() or -1):
        c = comm(p)
        if c.startswith("wsgi-sup:"):
            out[c[len("wsgi-sup:"):]] = p
    return out


def supervisor_of(srv, name):
    return supervisors(srv).get(name[:15 - len("wsgi-sup:")])


def pool_pids(srv, name):
    """The live daemon processes of pool NAME (children of its supervisor)."""
    sup = supervisor_of(srv, name)
    return children(sup) if sup else set()


def titled(name):
    """pids whose command line starts with (wsgi:NAME) (display-name=%{GROUP})."""
    tag = f"(wsgi:{name})"
    return {p for p in all_pids()
            if _proc_state(p) not in (None, "Z") and _proc_cmdline(p).startswith(tag)}


def ps_lines(needle):
    out = subprocess.run(["ps", "-eo", "pid,ppid,user,args"], capture_output=True,
                         text=True).stdout
    return [l for l in out.splitlines() if needle in l]


def sockets(srv, prefix=None):
    """Socket files of srv (default prefix: <run dir>/wsgi)."""
    prefix = str(prefix or (srv.run_dir / "wsgi"))
    d, base = os.path.split(prefix)
    try:
        names = os.listdir(d)
    except OSError:
        return []
    return sorted(os.path.join(d, n) for n in names
                  if n.startswith(base + ".") and n.endswith(".sock"))


def socket_info(path):
    st = os.stat(path)
    return {"mode": stat.filemode(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}


def wait_until(pred, timeout, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        time.sleep(interval)


def get(port, path, timeout=30.0, headers=None, host="127.0.0.1"):
    """(status, headers dict lower-case, body) with a fresh connection."""
    head = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
    for k, v in (headers or {}).items():
        head += f"{k}: {v}\r\n"
    from .apache import http_request
    r = http_request(port, head + "\r\n", timeout=timeout)
    return r.status, {k: v[0] for k, v in r.headers.items()}, r.body


class ClientLoop:
    """n threads sending GET path (fresh connection each) until stopped;
    records (sent_at, done_at, status or None, body or error)."""

    def __init__(self, port, path, threads=8, timeout=30.0, keepalive=False):
        self.port, self.path, self.threads, self.timeout = port, path, threads, timeout
        self.keepalive = keepalive
        self.results = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []

    def _one(self, sock=None):
        from .apache import read_response
        close = not self.keepalive
        req = (f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               + ("Connection: close\r\n" if close else "") + "\r\n").encode()
        s = sock or socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
        s.sendall(req)
        r = read_response(s, timeout=self.timeout)
        if close or r.closed:
            s.close()
            s = None
        return r, s

    def _run(self):
        sock = None
        while not self._stop.is_set():
            sent = time.monotonic()
            try:
                r, sock = self._one(sock)
                status = r.status if r.complete else None
                rec = (sent, time.monotonic(), status, r.body if r.complete else f"incomplete {r!r}")
            except Exception as e:  # noqa: BLE001
                if sock:
                    sock.close()
                    sock = None
                rec = (sent, time.monotonic(), None, f"{type(e).__name__}: {e}")
            with self._lock:
                self.results.append(rec)
        if sock:
            sock.close()

    def start(self):
        for _ in range(self.threads):
            t = threading.Thread(target=self._run, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(self.timeout + 5)
        return self.results


def parse_wrk(out):
    m = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "requests": int(m.group(1)) if m else 0,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "connect": int(sock.group(1)) if sock else 0,
        "read": int(sock.group(2)) if sock else 0,
        "write": int(sock.group(3)) if sock else 0,
        "timeout": int(sock.group(4)) if sock else 0,
    }


# A fixed pool for the load tests: both children started up front and never
# reaped, each with more threads than wrk has connections (wrk may open all 64 on
# one child; with exactly 64 threads it then has no idle worker), and unlimited
# requests per connection. Otherwise Apache itself closes keep-alive
# connections under wrk's feet (process reaping, MaxKeepAliveRequests, the
# event MPM dropping kept-alive connections of a process whose workers are all
# busy), which wrk counts as read errors although no request failed.
EVENT_FIXED = """\
<IfModule mpm_event_module>
    StartServers            2
    ServerLimit             2
    MinSpareThreads         1
    MaxSpareThreads         192
    ThreadLimit             96
    ThreadsPerChild         96
    MaxRequestWorkers       192
    MaxConnectionsPerChild  0
</IfModule>
MaxKeepAliveRequests 0
"""
