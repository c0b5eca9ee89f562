"""WSGIScriptReloading: a changed or touched script is reloaded."""

import os
import re
import shutil
import time

import pytest
import requests

import harness

CONF = """\
WSGIScriptAlias /reload @APPS@/reloadable.wsgi
WSGIScriptAlias /noreload @APPS@/reloadable_off.wsgi
<Location /noreload>
    WSGIScriptReloading Off
</Location>
"""

# One child process, so "the next request" always meets the same interpreter.
ONE_CHILD = harness.ONE_EVENT_CHILD


@pytest.fixture
def srv(apache):
    s = apache(CONF, mpm_config=ONE_CHILD, start=False)
    shutil.copy(s.apps / "reloadable.wsgi", s.apps / "reloadable_off.wsgi")
    os.chmod(s.apps / "reloadable_off.wsgi", 0o644)
    return s.start()


def info(srv, path):
    r = requests.get(srv.url(path), timeout=30)
    assert r.status_code == 200, r.text
    return dict(kv.split("=", 1) for kv in r.text.split())


def set_version(path, version):
    text = re.sub(r"^VERSION = \d+$", f"VERSION = {version}", path.read_text(), flags=re.M)
    path.write_text(text)
    touch(path)


def touch(path):
    st = os.stat(path)
    t = max(time.time(), st.st_mtime + 2)  # a visible mtime change
    os.utime(path, (t, t))


def test_changed_script_is_reloaded(srv):
    first = info(srv, "/reload")
    assert first["version"] == "1"
    assert info(srv, "/reload")["loads"] == first["loads"]  # cached between requests
    set_version(srv.apps / "reloadable.wsgi", 2)
    second = info(srv, "/reload")
    assert second["version"] == "2"
    assert second["pid"] == first["pid"]  # reloaded in place, same process
    assert info(srv, "/reload")["version"] == "2"


def test_touched_script_is_executed_again(srv):
    first = info(srv, "/reload")
    touch(srv.apps / "reloadable.wsgi")
    second = info(srv, "/reload")
    assert int(second["loads"]) == int(first["loads"]) + 1
    assert info(srv, "/reload")["loads"] == second["loads"]


def test_no_reload_when_reloading_is_off(srv):
    assert info(srv, "/noreload")["version"] == "1"
    set_version(srv.apps / "reloadable_off.wsgi", 2)
    for _ in range(3):
        assert info(srv, "/noreload")["version"] == "1"


def test_script_module_name(srv):
    # scripts are loaded as modules named _mod_wsgi_<hash of the path>
    assert info(srv, "/reload")["name"].startswith("_mod_wsgi_")


def test_reload_required_callback_reloads_once_and_never_without_it(apache):
    # mod_wsgi 6's reload_required(resource): an unmodified script is never reloaded; a
    # callback's True reloads it once; a raising callback is logged and keeps the script
    srv = apache("WSGIScriptAlias /hook @APPS@/reload_hook.wsgi\n", mpm_config=ONE_CHILD)
    url = srv.url("/hook")
    first = requests.get(url, timeout=30).text
    assert all(requests.get(url, timeout=30).text == first for _ in range(5))
    (srv.markers / "reload-now").write_text("")
    second = requests.get(url, timeout=30).text
    assert second != first
    assert not (srv.markers / "reload-now").exists()
    assert all(requests.get(url, timeout=30).text == second for _ in range(5)), "one-shot"
    mark = srv.log_mark()
    (srv.markers / "reload-raise").write_text("")
    assert requests.get(url, timeout=30).text == second
    srv.wait_for_log(r"RuntimeError: reload_required failed on purpose", mark)
    assert "Traceback" in srv.log_since(mark)
