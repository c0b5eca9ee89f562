"""conf.d/balancer.conf: one front Apache (mod_proxy_balancer) over two backend Apaches with
mod_wsgi_rs, in daemon mode as recommended. Requests are spread over both, each app sees the
client's address (the backends trust the front's X-Forwarded-For), and when one backend stops,
requests go to the other without failing."""
import pytest
import requests

import harness

BACKEND = """\
WSGITrustedProxyHeaders X-Forwarded-For X-Forwarded-Proto X-Forwarded-Host
WSGITrustedProxies 127.0.0.1
WSGIScriptAlias / @APPS@/environ.wsgi
"""
MODULES = ["proxy", "proxy_http", "proxy_balancer", "lbmethod_byrequests", "slotmem_shm", "headers"]


@pytest.fixture
def cluster():
    backends = [harness.Apache(harness.in_mode(BACKEND, "daemon"), name=f"backend{i}") for i in (1, 2)]
    for b in backends:
        b.start()
    port = harness.free_port()
    members = "\n".join(f'        BalancerMember http://127.0.0.1:{b.port} retry=30' for b in backends)
    site = ((harness.REPO / "conf.d" / "balancer.conf").read_text()
            .replace("@BACKENDS@", members).replace("@PORT@", str(port)))
    loads = "".join(f"LoadModule {m}_module {harness.apache.APACHE_MODULES}/mod_{m}.so\n"
                    for m in MODULES if m != "headers")
    front = harness.Apache(loads + site, port=port, modules=["headers"], load_wsgi=False,
                           name="front")
    front.start()
    yield front, backends
    front.cleanup()
    for b in backends:
        b.cleanup()


def test_requests_are_spread_and_see_the_client(cluster):
    front, backends = cluster
    seen = {}
    for _ in range(20):
        r = requests.get(front.url("/"), headers={"X-Forwarded-For": "203.0.113.9"}, timeout=30)
        assert r.status_code == 200, front.error_log()[-2000:]
        env = r.json()
        seen[env["SERVER_PORT"]] = seen.get(env["SERVER_PORT"], 0) + 1
        # the front appended itself; the backend trusts it, so the app sees the client
        assert env["REMOTE_ADDR"] == "203.0.113.9", env
        assert env["wsgi.url_scheme"] == "http"
    assert set(seen) == {str(b.port) for b in backends}, seen
    assert min(seen.values()) >= 8, seen   # byrequests: about half each


def test_a_stopped_backend_loses_no_request(cluster):
    front, backends = cluster
    backends[0].stop()
    statuses = [requests.get(front.url("/"), timeout=30) for _ in range(10)]
    assert [r.status_code for r in statuses] == [200] * 10, front.error_log()[-2000:]
    assert {r.json()["SERVER_PORT"] for r in statuses} == {str(backends[1].port)}
