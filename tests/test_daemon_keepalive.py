"""An Apache child keeps its connections to a daemon pool open between requests
(src/daemon/keepalive.rs). A kept connection can end before a daemon process
takes the next request on it: the process was killed, or closed it because all
its threads were busy. Such a request was never run, so it is sent again on a
new connection - whatever its method - and the client never sees the difference."""

import json
import os
import signal

from harness import ONE_EVENT_CHILD
from harness import daemon as hd
from harness.apache import http_request

PROBE = "@APPS@/daemon_probe.wsgi"
ECHO = "@APPS@/echo.wsgi"


def pool(name, processes, threads):
    return f"""\
WSGIDaemonProcess {name} processes={processes} threads={threads} display-name=%{{GROUP}}
WSGIScriptAlias /probe {PROBE} process-group={name}
WSGIScriptAlias /echo {ECHO} process-group={name}
"""


def post(port, path, body, timeout=30.0):
    req = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
           f"Content-Type: application/octet-stream\r\nContent-Length: {len(body)}\r\n\r\n")
    return http_request(port, req.encode() + body, timeout=timeout)


def test_post_after_the_daemon_was_killed_between_requests(apache):
    srv = apache(pool("kk", 1, 2), mpm_config=ONE_EVENT_CHILD)
    status, _, body = hd.get(srv.port, "/probe?mode=pid")
    assert status == 200
    victim = int(body.split()[-1])
    os.kill(victim, signal.SIGKILL)
    hd.wait_until(lambda: hd.titled("kk") and victim not in hd.titled("kk"), 20,
                  what="a new daemon process")
    # The connection kept from the first request died with its process.
    r = post(srv.port, "/echo?mode=read", b"sent once")
    assert r.status == 200, r.raw[-2000:]
    assert json.loads(r.body)["body"] == "sent once"
    status, _, body = hd.get(srv.port, "/probe?mode=pid")
    assert status == 200 and int(body.split()[-1]) != victim


def test_connection_kept_after_requests_with_a_body(apache):
    """Frameworks read CONTENT_LENGTH bytes and never ask for the end of the body: the
    connection still carries the next request (the same socket stays open in the daemon)
    and nothing of one request's body reaches the next."""
    srv = apache(pool("kb", 1, 2), mpm_config=ONE_EVENT_CHILD)

    def sockets():
        status, _, body = hd.get(srv.port, "/probe?mode=sockets")
        assert status == 200
        return set(body.decode().split())

    before = sockets()
    for size in (10, 300_000, 1 << 20, 0, 65536):
        r = post(srv.port, "/echo?mode=exact", b"b" * size)
        assert r.status == 200 and r.body == str(size).encode(), r.raw[-2000:]
        r = post(srv.port, "/echo?mode=read", b"whole")
        assert r.status == 200 and json.loads(r.body)["body"] == "whole", r.raw[-2000:]
        # Reads past the end answer at once, and leave the connection usable too.
        r = post(srv.port, "/echo?mode=past_end", b"p" * 1000)
        assert r.status == 200 and len(json.loads(r.body)["body"]) == 1000, r.raw[-2000:]
    assert sockets() == before
    log = srv.error_log()
    assert "unexpected" not in log and "bad data" not in log, log[-3000:]


def test_socket_buffer_options_apply_to_each_connection(apache):
    """send-buffer-size sizes the daemon-to-Apache direction, receive-buffer-size the
    other, on both ends of every connection (a Unix socket does not inherit the
    listener's sizes; the kernel doubles what is set)."""
    srv = apache("""\
WSGIDaemonProcess sb processes=1 threads=2 send-buffer-size=65536 receive-buffer-size=131072
WSGIScriptAlias /probe @APPS@/daemon_probe.wsgi process-group=sb
WSGIScriptAlias /embedded @APPS@/daemon_probe.wsgi
""", mpm_config=ONE_EVENT_CHILD)
    status, _, body = hd.get(srv.port, "/probe?mode=bufsizes")
    assert status == 200
    assert [2 * 65536, 2 * 131072] in json.loads(body), body
    # The Apache child (one, so it holds the connection just kept) sends with the other size.
    status, _, body = hd.get(srv.port, "/embedded?mode=bufsizes")
    assert status == 200
    assert [2 * 131072, 2 * 65536] in json.loads(body), body


def test_small_receive_buffer_with_an_application_that_stops_reading(apache):
    """The body window never exceeds receive-buffer-size: an application that reads a
    little of a large body and answers with a large response does not deadlock against
    the Apache child blocked sending it more body."""
    srv = apache("""\
WSGIDaemonProcess rb processes=1 threads=2 receive-buffer-size=4096 socket-timeout=20
WSGIScriptAlias /probe @APPS@/daemon_probe.wsgi process-group=rb
""", mpm_config=ONE_EVENT_CHILD)
    r = post(srv.port, "/probe?mode=download&n=4&read=100", b"u" * (2 << 20), timeout=15)
    assert r.status == 200, r.raw[-2000:]
    assert len(r.body) == 4 << 20
