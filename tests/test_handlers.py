"""WSGI applications chosen by Apache handlers rather than WSGIScriptAlias
(reference §7.6): `AddHandler wsgi-script .wsgi` on files reached through a
plain `Alias`, and `WSGIHandlerScript` for a handler name of one's own."""

import pytest
import requests

CONF = """\
Alias /scripts @APPS@/scripts
Alias /noexec @APPS@/noexec
<Directory @APPS@/scripts>
    Options +ExecCGI
    AddHandler wsgi-script .wsgi
</Directory>
<Directory @APPS@/noexec>
    AddHandler wsgi-script .wsgi
</Directory>

WSGIHandlerScript my-handler @APPS@/handler/handler.wsgi
Alias /pages @APPS@/pages
<Directory @APPS@/pages>
    AddHandler my-handler .myext
</Directory>
"""


@pytest.fixture(scope="module")
def srv(module_apache):
    s = module_apache(CONF, global_application_group=False, start=False)
    (s.apps / "noexec").mkdir()
    (s.apps / "noexec" / "a.wsgi").write_text((s.apps / "scripts" / "a.wsgi").read_text())
    for p in (s.apps / "noexec", s.apps / "noexec" / "a.wsgi"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    return s.start()


def get_json(srv, path):
    r = requests.get(srv.url(path), timeout=30)
    assert r.status_code == 200, (path, r.status_code, r.text[:500])
    return r.json()


def test_each_wsgi_file_is_its_own_application(srv):
    a = get_json(srv, "/scripts/a.wsgi")
    b = get_json(srv, "/scripts/b.wsgi")
    assert (a["name"], b["name"]) == ("a", "b")
    assert a["module"] != b["module"]
    assert a["module"].startswith("_mod_wsgi_")
    assert a["SCRIPT_NAME"] == "/scripts/a.wsgi"
    assert a["PATH_INFO"] == ""
    assert a["SCRIPT_FILENAME"] == str(srv.apps / "scripts" / "a.wsgi")
    assert a["handler"] == "wsgi-script"
    # the default application group (%{RESOURCE}) gives each file its own
    assert a["group"] == f"127.0.0.1:{srv.port}|/scripts/a.wsgi"
    assert b["group"] == f"127.0.0.1:{srv.port}|/scripts/b.wsgi"
    assert a["environ_group"] == a["group"]


def test_path_info_after_the_file(srv):
    data = get_json(srv, "/scripts/a.wsgi/more/path")
    assert data["name"] == "a"
    assert data["SCRIPT_NAME"] == "/scripts/a.wsgi"
    assert data["PATH_INFO"] == "/more/path"
    assert data["group"] == f"127.0.0.1:{srv.port}|/scripts/a.wsgi"


def test_without_exec_cgi_is_forbidden(srv):
    mark = srv.log_mark()
    r = requests.get(srv.url("/noexec/a.wsgi"), timeout=30)
    assert r.status_code == 403
    line = srv.wait_for_log(r"[^\n]*Options ExecCGI is off[^\n]*", mark).group(0)
    assert str(srv.apps / "noexec" / "a.wsgi") in line, line


def test_missing_file_is_404(srv):
    r = requests.get(srv.url("/scripts/missing.wsgi"), timeout=30)
    assert r.status_code == 404


def test_handler_script_serves_files_with_its_handler(srv):
    data = get_json(srv, "/pages/page.myext")
    page = srv.apps / "pages" / "page.myext"
    assert data["content"] == page.read_text()
    assert data["SCRIPT_FILENAME"] == str(page)
    assert data["handler_script"] == str(srv.apps / "handler" / "handler.wsgi")
    assert data["request_handler"] == "my-handler"
    assert data["SCRIPT_NAME"] == "/pages/page.myext"
    assert data["module"].startswith("_mod_wsgi_")
    # default group %{RESOURCE}: per URL served by the handler
    assert data["group"] == f"127.0.0.1:{srv.port}|/pages/page.myext"


def test_handler_script_is_loaded_once(srv):
    first = get_json(srv, "/pages/page.myext")
    for _ in range(5):
        again = get_json(srv, "/pages/page.myext")
        if again["pid"] == first["pid"]:
            assert again["module"] == first["module"]
    log = srv.error_log()
    handler = str(srv.apps / "handler" / "handler.wsgi")
    loads = [l for l in log.splitlines() if "Loading WSGI script" in l and handler in l]
    assert 1 <= len(loads) <= 2, loads  # at most once per child (StartServers 2)
