"""What only daemon mode has (reference §3, §5.4, §8): the same environ as
embedded mode side by side, the daemon's timing keys, server_pid of the
proxying child, 1 GB request and response bodies streamed through a daemon,
and wsgi.file_wrapper files sent by Apache from a passed descriptor.

The WSGI contract itself runs in both modes in the contract test files
(test_response, test_input, test_errors, test_file_wrapper, test_environ,
test_logging; harness/modes.py)."""

import http.client
import json
import os
import socket
import threading
import time
import uuid

import pytest

import harness
from harness import daemon as hd

PROBE = "@APPS@/daemon_probe.wsgi"

CONF = f"""\
WSGIDaemonProcess wc processes=2 threads=5
WSGIDaemonProcess big processes=1 threads=2

WSGIScriptAlias /emb @APPS@/environ.wsgi
WSGIScriptAlias /dmn @APPS@/environ.wsgi process-group=wc

WSGIScriptAlias /up @APPS@/upload_counter.wsgi process-group=big
WSGIScriptAlias /big {PROBE} process-group=big

WSGIScriptAlias /fw @APPS@/file_wrapper.wsgi process-group=wc
"""

# environ keys that may (or must) differ between an embedded and a daemon
# answer to the same request sent to /emb/... and /dmn/...
MAY_DIFFER = {
    "SCRIPT_NAME", "REQUEST_URI", "mod_wsgi.script_name",      # /emb vs /dmn
    "REMOTE_PORT",                                              # a new connection
    "mod_wsgi.process_group",                                   # '' vs 'wc'
    "mod_wsgi.thread_id", "mod_wsgi.request_id", "mod_wsgi.server_pid",
    "mod_wsgi.request_start", "mod_wsgi.queue_start", "mod_wsgi.daemon_start",
    "mod_wsgi.application_start",
    "wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once",   # pool's shape
    "_pid", "_thread",                                          # the probe's own
}


@pytest.fixture(scope="module")
def srv(module_apache):
    s = module_apache(CONF, start=False)
    data = s.root / "data"
    data.mkdir()
    (data / "big.bin").write_bytes(os.urandom(20 * 1024 * 1024 + 17))
    harness.apache.make_world_readable(s.root)
    os.chmod(s.markers, 0o777)
    s.data = data
    return s.start()


def raw(srv, request, timeout=30):
    return harness.http_request(srv.port, request, timeout=timeout)


def environ_of(srv, prefix):
    body = b"a=b&c"
    r = raw(srv, (f"POST {prefix}/extra/path?a=env&x=1 HTTP/1.1\r\n"
                  f"Host: 127.0.0.1:{srv.port}\r\n"
                  "User-Agent: daemon-contract\r\n"
                  "X-Custom-Header: custom value\r\n"
                  "Accept: */*\r\n"
                  "Cookie: a=1; b=2\r\n"
                  "Content-Type: application/x-www-form-urlencoded\r\n"
                  f"Content-Length: {len(body)}\r\n"
                  "Connection: close\r\n\r\n").encode() + body)
    assert r.status == 200, r
    return json.loads(r.body)


# ------------------------------------------------------------------ environ

def test_environ_is_the_same_as_embedded(srv):
    emb = environ_of(srv, "/emb")
    dmn = environ_of(srv, "/dmn")
    only_emb = sorted(set(emb) - set(dmn))
    only_dmn = sorted(set(dmn) - set(emb))
    differ = sorted(k for k in set(emb) & set(dmn)
                    if emb[k] != dmn[k] and k not in MAY_DIFFER)
    print(f"environ: {len(emb)} keys embedded, {len(dmn)} daemon; allowed to differ: "
          f"{sorted(k for k in MAY_DIFFER if emb.get(k) != dmn.get(k))}")
    assert not only_emb and not only_dmn, f"only embedded: {only_emb}; only daemon: {only_dmn}"
    assert not differ, {k: (emb[k], dmn[k]) for k in differ}
    assert emb["_types"] == dmn["_types"]
    assert (emb["SCRIPT_NAME"], dmn["SCRIPT_NAME"]) == ("/emb", "/dmn")
    assert (emb["mod_wsgi.process_group"], dmn["mod_wsgi.process_group"]) == ("", "wc")
    assert dmn["PATH_INFO"] == "/extra/path"
    assert dmn["REQUEST_URI"] == "/dmn/extra/path?a=env&x=1"
    assert dmn["HTTP_X_CUSTOM_HEADER"] == "custom value"
    assert dmn["CONTENT_LENGTH"] == "5"
    assert dmn["wsgi.multithread"] is True and dmn["wsgi.multiprocess"] is True
    assert emb["mod_wsgi.queue_start"] == emb["mod_wsgi.daemon_start"] == 0.0


def test_timing_keys_are_ordered(srv):
    # request_start (Apache read the request) <= queue_start (the child sent it
    # to the pool) <= daemon_start (a daemon thread took it) <= application_start
    keys = ("mod_wsgi.request_start", "mod_wsgi.queue_start", "mod_wsgi.daemon_start",
            "mod_wsgi.application_start")
    for _ in range(20):
        dmn = environ_of(srv, "/dmn")
        values = [dmn[k] for k in keys]
        for k, v in zip(keys, values):
            assert isinstance(v, float) and v > 1e9, (k, v)
        assert values == sorted(values), dict(zip(keys, values))


def test_server_pid_is_the_proxying_apache_child(srv):
    # reference §3.2: in daemon mode mod_wsgi.server_pid is the Apache child
    # that proxied the request, not the daemon process
    dmn = environ_of(srv, "/dmn")
    children = srv.child_pids()
    assert int(dmn["mod_wsgi.server_pid"]) != dmn["_pid"], dmn["mod_wsgi.server_pid"]
    assert int(dmn["mod_wsgi.server_pid"]) in children, (dmn["mod_wsgi.server_pid"], children)


# ----------------------------------------------------------- 1 GB streaming

class RssSampler:
    def __init__(self, pids):
        self.pids = set(pids)
        self.base = {p: harness.rss_kb(p) for p in self.pids}
        self.peak = dict(self.base)
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for p in self.pids:
                self.peak[p] = max(self.peak[p], harness.rss_kb(p))
            time.sleep(0.02)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()

    def growth_kb(self, pids=None):
        return max((self.peak[p] - self.base[p] for p in (pids or self.pids)), default=0)


def big_pid(srv):
    status, _, body = hd.get(srv.port, "/big?mode=pid")
    assert status == 200
    return int(body)


@pytest.mark.slow
def test_upload_1gb_streams_through_the_daemon(srv):
    total = 1 << 30
    pid = big_pid(srv)
    assert hd.pool_pids(srv, "big") == {pid}
    children = srv.child_pids()
    block = memoryview(bytes(range(256)) * 4096)  # 1 MiB, reused
    with RssSampler({pid} | children) as rss:
        t0 = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=120)
        try:
            conn.putrequest("POST", "/up")
            conn.putheader("Content-Type", "application/octet-stream")
            conn.putheader("Content-Length", str(total))
            conn.endheaders()
            sent = 0
            while sent < total:
                conn.send(block)
                sent += len(block)
            resp = conn.getresponse()
            text = resp.read().decode()
        finally:
            conn.close()
        elapsed = time.monotonic() - t0
    assert resp.status == 200, text
    count, reads, maxrss = text.split()
    daemon_growth = rss.growth_kb({pid})
    child_growth = rss.growth_kb(children)
    print(f"1 GiB upload through the daemon: {elapsed:.1f}s ({total / elapsed / 1e6:.0f} MB/s), "
          f"{reads} reads; daemon RSS {rss.base[pid]} kB -> peak {rss.peak[pid]} kB "
          f"(+{daemon_growth} kB; ru_maxrss {maxrss} kB); Apache child peak growth "
          f"+{child_growth} kB")
    assert int(count) == total
    assert daemon_growth < 50 * 1024
    assert int(maxrss) - rss.base[pid] < 50 * 1024
    assert child_growth < 50 * 1024


@pytest.mark.slow
def test_download_1gb_streams_through_the_daemon(srv):
    n = 1024  # chunks of 1 MiB
    pid = big_pid(srv)
    children = srv.child_pids()
    with RssSampler({pid} | children) as rss:
        t0 = time.monotonic()
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=60)
        try:
            s.sendall(f"GET /big?mode=download&n={n} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Connection: close\r\n\r\n".encode())
            buf = b""
            while b"\r\n\r\n" not in buf:
                b = s.recv(65536)
                assert b, buf
                buf += b
            head, _, rest = buf.partition(b"\r\n\r\n")
            got = len(rest)
            while True:
                b = s.recv(1 << 20)
                if not b:
                    break
                got += len(b)
        finally:
            s.close()
        elapsed = time.monotonic() - t0
    daemon_growth = rss.growth_kb({pid})
    child_growth = rss.growth_kb(children)
    print(f"1 GiB download through the daemon: {elapsed:.1f}s ({got / elapsed / 1e6:.0f} MB/s); "
          f"daemon RSS {rss.base[pid]} kB -> peak {rss.peak[pid]} kB (+{daemon_growth} kB); "
          f"Apache child peak growth +{child_growth} kB")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert got == n << 20
    assert daemon_growth < 50 * 1024
    assert child_growth < 50 * 1024


# ------------------------------------------------------------ file_wrapper

def open_fds_of(pids, path):
    found = set()
    for p in pids:
        try:
            for fd in os.listdir(f"/proc/{p}/fd"):
                try:
                    if os.readlink(f"/proc/{p}/fd/{fd}") == str(path):
                        found.add(p)
                except OSError:
                    pass
        except OSError:
            pass
    return found


def test_file_wrapper_is_sent_by_apache_from_the_passed_descriptor(srv):
    f = srv.data / "big.bin"
    expected = f.read_bytes()
    token = uuid.uuid4().hex
    marker = srv.markers / f"{token}.closed"
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    try:
        s.sendall(f"GET /fw?mode=closecheck&path={f}&dir={srv.markers}&token={token} HTTP/1.1\r\n"
                  "Host: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        # do not read: 20 MB cannot fit in the socket buffers, Apache must wait
        deadline = time.monotonic() + 5
        holders = set()
        while time.monotonic() < deadline and not (holders and marker.exists()):
            holders = open_fds_of(srv.child_pids(), f)
            time.sleep(0.05)
        closed_early = marker.exists()
        daemons = hd.pool_pids(srv, "wc")
        in_daemon = open_fds_of(daemons, f)
        buf = b""
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            buf += b
    finally:
        s.close()
    status_line, headers, body = harness.parse_raw_response(buf)
    print(f"file_wrapper 20 MB: Apache children holding the file {sorted(holders)}, "
          f"daemon closed it before the client read: {closed_early}, "
          f"daemons still holding it: {sorted(in_daemon)}")
    assert status_line.startswith("HTTP/1.1 200"), status_line
    assert body == expected
    assert holders, "the file's descriptor should be in the Apache child sending it"
    assert closed_early, "the app's file was closed (close()) while Apache was still sending"
    assert not in_daemon
    hd.wait_until(marker.exists, 10, what="file closed")
