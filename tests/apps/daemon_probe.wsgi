# Daemon-mode probe (tests/test_daemon_*.py). ?mode= selects:
#   info        JSON: pid, ids, cwd, sys.path/prefix, LANG/LC_ALL, umask, rlimits,
#               nice value, the wsgi.*/mod_wsgi.* flags of the environ
#   pid         "<pid>" (text/plain)
#   sockets     the inodes of the process's open sockets, one per line
#   sleep       sleeps t seconds in 10 ms steps (so an injected exception is
#               seen at once); if something is raised into it (request-timeout
#               + interrupt-timeout), writes <dir>/<token>.raised with the
#               exception's class and re-raises
#   header      a response header X-Big of n bytes
#   status      answers status code= with the body "body from the app"
#   redirect    status 200 with Location: to= (internal redirect in daemon mode)
#   download    n chunks of 1 MiB (the same bytes object), from a generator
# Not wrapped in wsgiref.validate: the modes above go past what it allows
# (Location with 200, a 1 GiB body), and the environ flags are read raw.
import json
import os
import resource
import socket
import sys
import threading
import time
from urllib.parse import parse_qs

import mod_wsgi

LIMITS = ("RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_AS")
MIB = b"\xa5" * (1 << 20)


def _umask():
    old = os.umask(0o022)
    os.umask(old)
    return old


def info(environ):
    return {
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "uid": os.getuid(),
        "euid": os.geteuid(),
        "gid": os.getgid(),
        "groups": sorted(os.getgroups()),
        "cwd": os.getcwd(),
        "path": sys.path,
        "prefix": sys.prefix,
        "executable": sys.executable,
        "LANG": os.environ.get("LANG"),
        "LC_ALL": os.environ.get("LC_ALL"),
        "HOME": os.environ.get("HOME"),
        "umask": _umask(),
        "rlimits": {name: list(resource.getrlimit(getattr(resource, name))) for name in LIMITS},
        "nice": os.getpriority(os.PRIO_PROCESS, 0),
        "threads": threading.active_count(),
        "module_process_group": mod_wsgi.process_group,
        "environ": {k: environ.get(k) for k in (
            "wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once",
            "mod_wsgi.process_group", "mod_wsgi.application_group",
            "mod_wsgi.server_pid", "mod_wsgi.thread_id", "REMOTE_USER",
            "HTTP_AUTHORIZATION", "PROBE_VAR")},
    }


def application(environ, start_response):
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    mode = q.get("mode", "info")
    text = [("Content-Type", "text/plain")]
    if mode == "info":
        body = json.dumps(info(environ)).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    if mode == "pid":
        start_response("200 OK", text)
        return [str(os.getpid()).encode()]
    if mode == "sockets":
        inodes = set()
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:"):
                inodes.add(target)
        start_response("200 OK", text)
        return ["\n".join(sorted(inodes)).encode()]
    if mode == "bufsizes":
        # [SO_SNDBUF, SO_RCVBUF] of each connected Unix stream socket of this process
        sizes = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                s = socket.socket(fileno=os.dup(int(fd)))
            except OSError:
                continue
            with s:
                if (s.family == socket.AF_UNIX and s.type == socket.SOCK_STREAM
                        and not s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)):
                    sizes.append([s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF),
                                  s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)])
        body = json.dumps(sizes).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    if mode == "sleep":
        t = float(q.get("t", "1"))
        deadline = time.monotonic() + t
        try:
            while time.monotonic() < deadline:
                time.sleep(0.01)
        except BaseException as e:
            if "dir" in q:
                path = os.path.join(q["dir"], q["token"] + ".raised")
                with open(path, "w") as f:
                    f.write(f"{type(e).__module__}.{type(e).__qualname__} pid={os.getpid()}\n")
            raise
        start_response("200 OK", text)
        return [f"slept {os.getpid()}".encode()]
    if mode == "header":
        n = int(q["n"])
        start_response("200 OK", text + [("X-Big", "b" * n)])
        return [b"header sent"]
    if mode == "status":
        code = int(q.get("code", "404"))
        start_response(f"{code} From App", text)
        return [b"body from the app"]
    if mode == "redirect":
        start_response("200 OK", text + [("Location", q.get("to", "/other.txt"))])
        return [b"redirect body from the app (must not be sent)"]
    if mode == "download":
        n = int(q.get("n", "1024"))
        # read=K: take K bytes of the request body first, then answer without the rest
        if q.get("read"):
            environ["wsgi.input"].read(int(q["read"]))
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(n * len(MIB)))])

        def gen():
            for _ in range(n):
                yield MIB

        return gen()
    start_response("400 Bad Request", text)
    return [f"unknown mode {mode!r}".encode()]
