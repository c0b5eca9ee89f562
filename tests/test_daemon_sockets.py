"""Daemon sockets (reference §5.3, DESIGN §4): names, WSGISocketPrefix,
WSGISocketRotation, socket-user=, permissions, and who may connect."""

import os
import re
import subprocess

import pytest

from harness import daemon as hd

PROBE = "@APPS@/daemon_probe.wsgi"

CONF = f"""\
WSGIDaemonProcess sec threads=2
WSGIDaemonProcess secu socket-user=nobody threads=1
WSGIScriptAlias /sec {PROBE} process-group=sec
"""

CONNECT = ("import socket, sys\n"
           "s = socket.socket(socket.AF_UNIX)\n"
           "try:\n"
           "    s.connect(sys.argv[1])\n"
           "except OSError as e:\n"
           "    print('ERRNO', e.errno, e.strerror); sys.exit(1)\n"
           "s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n' + b'x' * 100)\n"
           "s.settimeout(5)\n"
           "try:\n"
           "    print('GOT', s.recv(100))\n"
           "except OSError as e:\n"
           "    print('RECV', e)\n"
           "print('CONNECTED')\n")


def connect_as(user, group, path):
    return subprocess.run(
        ["setpriv", f"--reuid={user}", f"--regid={group}", "--clear-groups",
         "/usr/bin/python3", "-c", CONNECT, path],
        capture_output=True, text=True, timeout=30)


@pytest.fixture(scope="module")
def srv(module_apache):
    return module_apache(CONF)


def socket_of(srv, index):
    rx = re.compile(rf"wsgi\.{srv.parent_pid}\.(\d+)\.{index}\.sock$")
    found = [p for p in hd.sockets(srv) if rx.search(p)]
    assert len(found) == 1, (index, hd.sockets(srv))
    return found[0], int(rx.search(found[0]).group(1))


def test_socket_names_modes_and_owners(srv):
    assert hd.get(srv.port, "/sec?mode=pid")[0] == 200
    paths = hd.sockets(srv)
    print("\n".join(f"{p} {hd.socket_info(p)}" for p in paths))
    assert len(paths) == 2, paths
    sec, gen = socket_of(srv, 1)
    secu, gen2 = socket_of(srv, 2)
    assert gen == gen2
    assert hd.socket_info(sec) == {"mode": "srwx------", "uid": 33, "gid": 33}
    info = hd.socket_info(secu)
    assert info["mode"] == "srwx------"
    assert info["uid"] == 65534, "socket-user=nobody owns the socket"


def test_another_user_cannot_connect(srv):
    path, _ = socket_of(srv, 1)
    res = connect_as("nobody", "nogroup", path)
    print(f"connect as nobody: rc={res.returncode} {res.stdout.strip()} {res.stderr.strip()}")
    assert res.returncode == 1, res
    assert "ERRNO 13" in res.stdout, res.stdout + res.stderr


def test_apache_user_can_connect_but_needs_the_secret(srv):
    path, _ = socket_of(srv, 1)
    mark = srv.log_mark()
    res = connect_as("www-data", "www-data", path)
    print(f"connect as www-data: rc={res.returncode} {res.stdout.strip()}")
    assert "CONNECTED" in res.stdout, res.stdout + res.stderr
    assert "GOT b'HTTP" not in res.stdout, "a peer without the secret got an answer"
    srv.wait_for_log(r"sec'?[^\n]*(secret|bad data|refused)", mark)
    # the pool is unharmed
    assert hd.get(srv.port, "/sec?mode=pid")[0] == 200


def test_graceful_restart_rotates_socket_names(srv):
    old, gen = socket_of(srv, 1)
    srv.graceful()
    assert hd.get(srv.port, "/sec?mode=pid")[0] == 200
    new, gen_new = socket_of(srv, 1)
    print(f"graceful: {os.path.basename(old)} -> {os.path.basename(new)}")
    assert gen_new != gen
    assert not os.path.exists(old), "the old generation's socket is removed"


def test_socket_prefix_and_rotation_off(apache, tmp_path):
    srv = apache(f"""\
WSGISocketPrefix sockets/pfx
WSGISocketRotation Off
WSGIDaemonProcess sp threads=2
WSGIDaemonProcess spn user=nobody group=nogroup home=/tmp threads=1
WSGIScriptAlias /sp {PROBE} process-group=sp
""", start=False)
    (srv.root / "sockets").mkdir(mode=0o755)
    srv.start()
    assert hd.get(srv.port, "/sp?mode=pid")[0] == 200
    prefix = srv.root / "sockets" / "pfx"
    paths = hd.sockets(srv, prefix)
    print("\n".join(f"{p} {hd.socket_info(p)}" for p in paths))
    # rotation Off: <prefix>.<parent pid>.u<daemon uid>.<index>.sock
    expected = {f"{prefix}.{srv.parent_pid}.u33.1.sock",
                f"{prefix}.{srv.parent_pid}.u65534.2.sock"}
    assert set(paths) == expected
    for p in paths:
        assert hd.socket_info(p)["mode"] == "srwx------"
        assert hd.socket_info(p)["uid"] == 33, "Apache's User owns it (it connects)"
    assert not hd.sockets(srv), "nothing under the default prefix"
    srv.graceful()
    assert set(hd.sockets(srv, prefix)) == expected, "stable names across a graceful restart"
    assert hd.get(srv.port, "/sp?mode=pid")[0] == 200
    # What happens at exit is the subject, not the hard stop (see harness stop()).
    srv.stop(graceful=True)
    assert hd.sockets(srv, prefix) == [], "sockets removed at stop"
