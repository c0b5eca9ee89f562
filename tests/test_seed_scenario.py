"""The user story: a REST API and a Flask web app on one Apache port.

Runs conf.d/example.conf, the hand-written system-Apache form of the example
(harness.prepare_example), on a free port. tests/test_make_run.py runs `make run`,
the same apps through mod_wsgi_rs-express.
"""

import os
import time

import pytest
import requests

import harness


@pytest.fixture(scope="module")
def site(module_apache):
    return module_apache.adopt(harness.prepare_example())


def test_generated_config_is_the_conf_d_example(site):
    conf = site.conf.read_text()
    assert f"WSGIScriptAlias /api/v1 {site.example_dir}/wsgi/rest_api.wsgi" in conf
    assert f"WSGIScriptAlias / {site.example_dir}/wsgi/web_app.wsgi" in conf
    assert conf.index("WSGIScriptAlias /api/v1") < conf.index("WSGIScriptAlias / ")
    assert f"WSGIDaemonProcess reporting_app processes=2 threads=5 python-home={site.venv}" in conf
    assert "WSGIProcessGroup reporting_app" in conf
    assert "WSGIApplicationGroup %{GLOBAL}" in conf
    assert "WSGIPassAuthorization On" in conf


def test_apps_run_in_the_daemon_processes(site):
    """The seeds' production setup: the apps are served by the pool, not by Apache's workers."""
    import subprocess
    ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    daemons = [line for line in ps.splitlines() if "(wsgi:reporting_app)" in line]
    assert len(daemons) == 2, ps
    r = requests.get(site.url("/api/v1/items"), timeout=30)
    assert r.status_code == 200
    assert "daemon process 'reporting_app'" in site.error_log()


def test_rest_api_returns_json(site):
    r = requests.get(site.url("/api/v1/items"), timeout=30)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    items = r.json()["items"]
    assert [i["name"] for i in items] == ["widget", "gadget", "doohickey"]

    r = requests.get(site.url("/api/v1/items/2"), timeout=30)
    assert r.json() == {"id": 2, "name": "gadget", "price": 10.0}

    r = requests.get(site.url("/api/v1/items/99"), timeout=30)
    assert r.status_code == 404
    assert r.json()["error"] == "not found"  # Flask's 404, not Apache's


def test_rest_api_knows_its_mount_point(site):
    r = requests.get(site.url("/api/v1/"), timeout=30)
    assert r.status_code == 200
    assert r.json()["endpoints"] == ["/api/v1/items", "/api/v1/whoami"]


def test_authorization_header_reaches_the_app(site):
    r = requests.get(site.url("/api/v1/whoami"), auth=("alice", "s3cret"), timeout=30)
    assert r.status_code == 200
    body = r.json()
    assert body["authorization"] == "Basic YWxpY2U6czNjcmV0"
    assert body["user"] == "alice"


def test_web_app_renders_the_template(site):
    r = requests.get(site.url("/"), timeout=30)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert "<h1>Welcome to the reporting app</h1>" in r.text
    assert 'href="/static/style.css"' in r.text
    r = requests.get(site.url("/hello/World"), timeout=30)
    assert "<h1>Hello, World</h1>" in r.text


def test_web_app_serves_its_static_file(site):
    r = requests.get(site.url("/static/style.css"), timeout=30)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/css")
    assert "mod_wsgi_rs example stylesheet" in r.text
    expected = (site.example_dir / "app/web_app/static/style.css").read_text()
    assert r.text == expected


def test_unknown_page_is_the_apps_404(site):
    r = requests.get(site.url("/no/such/page"), timeout=30)
    assert r.status_code == 404
    # /api/v1 prefix only matches whole segments
    r = requests.get(site.url("/api/v1x"), timeout=30)
    assert r.status_code == 404
    assert "text/html" in r.headers["Content-Type"]  # from the web app, not the API


def _bump_mtime(path):
    st = os.stat(path)
    t = max(time.time(), st.st_mtime + 2)
    os.utime(path, (t, t))


def test_edit_and_touch_reloads_the_web_app(site):
    # (runs last in this module: it changes the app)
    with requests.Session() as s:
        for _ in range(10):  # every child has the old code loaded
            assert "Welcome to the reporting app" in s.get(site.url("/"), timeout=30).text
    views = site.example_dir / "app/web_app/views.py"
    views.write_text(views.read_text().replace(
        'GREETING = "Welcome to the reporting app"',
        'GREETING = "Welcome to version 2 of the reporting app"'))
    _bump_mtime(views)
    _bump_mtime(site.example_dir / "wsgi/web_app.wsgi")  # touch web_app.wsgi
    for _ in range(20):
        r = requests.get(site.url("/"), timeout=30)
        assert r.status_code == 200
        assert "<h1>Welcome to version 2 of the reporting app</h1>" in r.text, r.text
    # the REST API was not disturbed
    assert requests.get(site.url("/api/v1/items"), timeout=30).status_code == 200


@pytest.fixture(scope="module")
def site_embedded(module_apache):
    """The same example with its daemon lines taken out: both apps in Apache's children."""
    srv = harness.prepare_example()
    # the pool's python-home becomes the server's
    srv.fragment = f'WSGIPythonHome "{srv.venv}"\n' + "\n".join(l for l in srv.fragment.splitlines()
                              if not l.strip().startswith(("WSGIDaemonProcess", "WSGIProcessGroup",
                                                           "WSGIRestrictEmbedded")))
    srv.write_config()
    return module_apache.adopt(srv)


@pytest.mark.parametrize("path", ["/", "/api/v1/items"])
@pytest.mark.parametrize("which", ["site", "site_embedded"])
def test_head_answers_with_the_gets_headers(request, which, path):
    site = request.getfixturevalue(which)
    # curl -I, load balancers, uptime checks: HEAD on the example's daemon-mode apps
    with requests.Session() as s:
        get = s.get(site.url(path), timeout=30)
        head = s.head(site.url(path), timeout=30)
        assert head.status_code == 200, site.error_log_tail(20)
        assert head.headers["Content-Length"] == get.headers["Content-Length"]
        assert head.headers["Content-Type"] == get.headers["Content-Type"]
        assert head.headers.get("Connection", "").lower() != "close"
        # the kept connection still serves
        assert s.get(site.url(path), timeout=30).status_code == 200
    assert "shorter than its Content-Length" not in site.error_log()
