"""wsgi.file_wrapper: real files (sendfile-able), moved offsets, file-likes;
in embedded and daemon mode."""

import hashlib
import os
import time
import uuid

import pytest
import requests

import harness

CONF = """\
WSGIScriptAlias /fw @APPS@/file_wrapper.wsgi
WSGIScriptAlias /fw-sendfile @APPS@/file_wrapper.wsgi
<Location /fw-sendfile>
    WSGIEnableSendfile On
</Location>
"""


@pytest.fixture(scope="module")
def srv(module_apache, mode):
    s = module_apache(harness.in_mode(CONF, mode))
    data = s.root / "data"
    data.mkdir()
    (data / "small.bin").write_bytes(os.urandom(10_000))
    (data / "big.bin").write_bytes(os.urandom(5 * 1024 * 1024 + 123))
    (data / "empty.bin").write_bytes(b"")
    for p in [data, *data.iterdir()]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    s.data = data
    yield s
    s.cleanup()  # one Apache at a time: the other mode's starts next


def fetch(srv, url_path, **query):
    q = "&".join(f"{k}={v}" for k, v in query.items())
    r = requests.get(srv.url(f"{url_path}?{q}"), timeout=60)
    assert r.status_code == 200, r.text[:1000]
    return r


@pytest.mark.parametrize("path", ["/fw", "/fw-sendfile"])
@pytest.mark.parametrize("name", ["small.bin", "big.bin", "empty.bin"])
def test_real_file(srv, path, name):
    f = srv.data / name
    r = fetch(srv, path, mode="file", path=f)
    assert r.content == f.read_bytes()
    assert r.headers["Content-Length"] == str(f.stat().st_size)


@pytest.mark.parametrize("path", ["/fw", "/fw-sendfile"])
@pytest.mark.parametrize("offset", [1, 4096, 9_999])
def test_file_position_moved_by_seek_is_respected(srv, path, offset):
    f = srv.data / "small.bin"
    r = fetch(srv, path, mode="seek", path=f, offset=offset)
    assert r.content == f.read_bytes()[offset:]
    assert r.headers["Content-Length"] == str(f.stat().st_size - offset)


@pytest.mark.parametrize("path", ["/fw", "/fw-sendfile"])
def test_explicit_content_length_limits_the_file(srv, path):
    f = srv.data / "big.bin"
    r = fetch(srv, path, mode="cl", path=f, length=100_000)
    assert r.content == f.read_bytes()[:100_000]


@pytest.mark.parametrize("name", ["small.bin", "big.bin"])
def test_file_like_without_fileno_falls_back_to_iteration(srv, name):
    f = srv.data / name
    r = fetch(srv, "/fw", mode="bytesio", path=f)
    assert hashlib.sha256(r.content).hexdigest() == hashlib.sha256(f.read_bytes()).hexdigest()


@pytest.mark.parametrize("path", ["/fw", "/fw-sendfile"])
def test_the_file_is_closed_after_the_response(srv, path):
    token = uuid.uuid4().hex
    f = srv.data / "small.bin"
    r = fetch(srv, path, mode="closecheck", path=f, dir=srv.markers, token=token)
    assert r.content == f.read_bytes()
    marker = srv.markers / f"{token}.closed"
    deadline = time.monotonic() + 10
    while not marker.exists():
        assert time.monotonic() < deadline, "file_wrapper did not close the file"
        time.sleep(0.05)


def test_many_file_responses_on_one_connection(srv):
    f = srv.data / "small.bin"
    expected = f.read_bytes()
    with requests.Session() as s:
        for i in range(20):
            path = "/fw-sendfile" if i % 2 else "/fw"
            r = s.get(srv.url(f"{path}?mode=seek&path={f}&offset={i}"), timeout=30)
            assert r.content == expected[i:]
