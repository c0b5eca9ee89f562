"""WSGIApplicationGroup: which interpreter serves a request (reference §4).

Every form of the directive, the `application-group=` alias option, module
isolation between groups (and sharing within one), a Flask app in a
sub-interpreter, and a load test mixing the main interpreter and two
sub-interpreters in one Apache child.
"""

import os
import re
import shutil
import subprocess
import time

import pytest
import requests

import harness

# Every form of the directive on one server. No server-wide
# WSGIApplicationGroup (global_application_group=False): /mount shows the
# default, %{RESOURCE}.
FORMS_CONF = """\
WSGIScriptAlias /global @APPS@/groupinfo.wsgi
WSGIScriptAlias /mount @APPS@/groupinfo.wsgi
WSGIScriptAlias /server @APPS@/groupinfo.wsgi
WSGIScriptAlias /host @APPS@/groupinfo.wsgi
WSGIScriptAlias /env @APPS@/groupinfo.wsgi
WSGIScriptAlias /literal @APPS@/groupinfo.wsgi
WSGIScriptAlias /override @APPS@/groupinfo.wsgi application-group=from-alias
WSGIScriptAlias /flask @APPS@/flask_app.wsgi
<Location /global>
    WSGIApplicationGroup %{GLOBAL}
</Location>
<Location /server>
    WSGIApplicationGroup %{SERVER}
</Location>
<Location /host>
    WSGIApplicationGroup %{HOST}
</Location>
<Location /env>
    SetEnv MWRS_GROUP group-from-env
    WSGIApplicationGroup %{ENV:MWRS_GROUP}
</Location>
<Location /literal>
    WSGIApplicationGroup my-literal-group
</Location>
<Location /override>
    WSGIApplicationGroup from-location
</Location>
"""

ONE_CHILD = harness.ONE_EVENT_CHILD


@pytest.fixture(scope="module")
def forms(module_apache):
    return module_apache(FORMS_CONF, modules=["env"], global_application_group=False,
                         mpm_config=ONE_CHILD)


def info(srv, path, **kw):
    r = requests.get(srv.url(path), timeout=30, **kw)
    assert r.status_code == 200, (path, r.status_code, r.text[:500])
    data = r.json()
    # import mod_wsgi; mod_wsgi.application_group == the environ's value
    assert data["module_group"] == data["environ_group"], data
    return data


def test_global_is_the_main_interpreter(forms):
    data = info(forms, "/global")
    assert data["environ_group"] == ""
    assert data["interpreter"] == data["main_interpreter"], data


def test_default_is_resource(forms):
    data = info(forms, "/mount")
    assert data["environ_group"] == f"127.0.0.1:{forms.port}|/mount"
    assert data["interpreter"] != data["main_interpreter"], data
    # path info does not change the group: it is the mount point (SCRIPT_NAME)
    deeper = info(forms, "/mount/some/path")
    assert deeper["PATH_INFO"] == "/some/path"
    assert deeper["environ_group"] == data["environ_group"]
    assert deeper["interpreter"] == data["interpreter"]


def test_server(forms):
    assert info(forms, "/server")["environ_group"] == f"127.0.0.1:{forms.port}"


def test_host_is_the_host_header_without_its_port(forms):
    data = info(forms, "/host", headers={"Host": f"other.example:{forms.port}"})
    assert data["environ_group"] == f"other.example:{forms.port}"
    data = info(forms, "/host")  # requests sends Host: 127.0.0.1:PORT
    assert data["environ_group"] == f"127.0.0.1:{forms.port}"


def test_port_80_and_443_are_not_appended(forms):
    # The port is the request's server port (UseCanonicalName Off: the one in
    # the Host header), as SERVER_PORT says.
    assert info(forms, "/server", headers={"Host": "127.0.0.1:80"})["environ_group"] == "127.0.0.1"
    assert info(forms, "/mount", headers={"Host": "127.0.0.1:80"})["environ_group"] == "127.0.0.1|/mount"
    assert info(forms, "/host", headers={"Host": "www.example:443"})["environ_group"] == "www.example"
    assert (info(forms, "/host", headers={"Host": "www.example:8443"})["environ_group"]
            == "www.example:8443")


def test_env_variable_from_setenv(forms):
    assert info(forms, "/env")["environ_group"] == "group-from-env"


def test_literal_name(forms):
    data = info(forms, "/literal")
    assert data["environ_group"] == "my-literal-group"
    assert data["interpreter"] != data["main_interpreter"]


def test_alias_option_overrides_the_directory_setting(forms):
    assert info(forms, "/override")["environ_group"] == "from-alias"


def test_each_group_is_its_own_interpreter(forms):
    paths = ["/global", "/mount", "/server", "/env", "/literal", "/override"]
    seen = {p: info(forms, p) for p in paths}
    groups = {p: d["environ_group"] for p, d in seen.items()}
    assert len(set(groups.values())) == len(paths), groups
    interpreters = {d["interpreter"] for d in seen.values()}
    assert len(interpreters) == len(paths), seen
    # and a group keeps its interpreter from one request to the next
    for p in paths:
        assert info(forms, p)["interpreter"] == seen[p]["interpreter"]


def test_flask_app_in_a_sub_interpreter(forms):
    r = requests.get(forms.url("/flask/"), timeout=30)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["group"] == f"127.0.0.1:{forms.port}|/flask"
    assert data["environ_group"] == data["group"]
    assert data["script_root"] == "/flask"
    assert data["interpreter"] not in (None, 0), data
    r = requests.get(forms.url("/flask/hello/World"), timeout=30)
    assert r.status_code == 200
    assert r.text == "<h1>Hello, World</h1>"
    r = requests.get(forms.url("/flask/args?a=1&a=2&b=x"), timeout=30)
    assert r.status_code == 200
    assert r.json() == {"a": ["1", "2"], "b": ["x"]}
    r = requests.get(forms.url("/flask/nope"), timeout=30)
    assert r.status_code == 404


# ---------------------------------------------------------------- isolation

ISOLATION_CONF = """\
WSGIScriptAlias /a @APPS@/groupinfo.wsgi
WSGIScriptAlias /b @APPS@/groupinfo_b.wsgi
"""


def isolation_server(apache, fragment):
    srv = apache(fragment, global_application_group=False, mpm_config=ONE_CHILD,
                 start=False)
    shutil.copy(srv.apps / "groupinfo.wsgi", srv.apps / "groupinfo_b.wsgi")
    os.chmod(srv.apps / "groupinfo_b.wsgi", 0o644)
    return srv.start()


def test_scripts_in_different_groups_have_their_own_modules(apache):
    srv = isolation_server(apache, ISOLATION_CONF)  # default: one group per mount
    a = [info(srv, "/a") for _ in range(3)]
    b = [info(srv, "/b") for _ in range(2)]
    assert a[0]["environ_group"] != b[0]["environ_group"]
    assert [d["calls"] for d in a] == [1, 2, 3]
    assert [d["calls"] for d in b] == [1, 2]  # its own counter
    assert {d["pid"] for d in a + b} == {a[0]["pid"]}  # one process
    assert a[0]["counter_id"] != b[0]["counter_id"]
    assert a[0]["sys_id"] != b[0]["sys_id"]
    assert a[0]["interpreter"] != b[0]["interpreter"]
    assert info(srv, "/a")["calls"] == 4


@pytest.mark.parametrize("group", ["shared", "%{GLOBAL}"])
def test_scripts_in_the_same_group_share_modules(apache, group):
    srv = isolation_server(apache, ISOLATION_CONF + f"WSGIApplicationGroup {group}\n")
    a = [info(srv, "/a") for _ in range(2)]
    b = info(srv, "/b")
    expected = "" if group == "%{GLOBAL}" else group
    assert a[0]["environ_group"] == b["environ_group"] == expected
    assert a[0]["script"] != b["script"]  # two scripts ...
    assert [d["calls"] for d in a] + [b["calls"]] == [1, 2, 3]  # ... one helper module
    assert a[0]["counter_id"] == b["counter_id"]
    assert a[0]["interpreter"] == b["interpreter"]
    assert info(srv, "/a")["calls"] == 4


# ------------------------------------------------------------------- stress

STRESS_SECONDS = int(os.environ.get("MOD_WSGI_RS_STRESS_SECONDS", "60"))
WARMUP_SECONDS = 10

STRESS_CONF = """\
WSGIScriptAlias /global @APPS@/groupinfo.wsgi application-group=%{GLOBAL}
WSGIScriptAlias /sub1 @APPS@/groupinfo.wsgi
WSGIScriptAlias /sub2 @APPS@/flask_app.wsgi
"""

STRESS_MPM = harness.ONE_EVENT_CHILD + """\
MaxKeepAliveRequests 0
"""

# Each wrk connection cycles through the three apps.
ROTATE_LUA = """\
local paths = {"/global", "/sub1/", "/sub2/"}
local i = 0
request = function()
    i = i + 1
    return wrk.format("GET", paths[(i % #paths) + 1])
end
"""


def parse_wrk(out):
    m = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "requests": int(m.group(1)) if m else 0,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": tuple(int(x) for x in sock.groups()) if sock else (0, 0, 0, 0),
    }


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
@pytest.mark.timeout(STRESS_SECONDS + 180)
def test_stress_main_and_sub_interpreters_in_one_child(apache, tmp_path):
    srv = apache(STRESS_CONF, mpm="event", mpm_config=STRESS_MPM,
                 global_application_group=False)
    assert info(srv, "/global")["environ_group"] == ""
    assert info(srv, "/sub1/")["environ_group"] == f"127.0.0.1:{srv.port}|/sub1"
    r = requests.get(srv.url("/sub2/"), timeout=30)
    assert r.status_code == 200 and r.json()["group"] == f"127.0.0.1:{srv.port}|/sub2"
    children = srv.child_pids()
    assert len(children) == 1, children
    child = children.pop()

    script = tmp_path / "rotate.lua"
    script.write_text(ROTATE_LUA)
    cmd = ["wrk", "-t", "2", "-c", "32", "-d", f"{STRESS_SECONDS}s", "--timeout", "10s",
           "-s", str(script), srv.url("/")]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(min(WARMUP_SECONDS, STRESS_SECONDS / 2))
        rss_warm = harness.rss_kb(child)
        out, _ = proc.communicate(timeout=STRESS_SECONDS + 60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    elapsed = time.monotonic() - t0
    rss_end = harness.rss_kb(child)
    stats = parse_wrk(out)
    growth_mb = (rss_end - rss_warm) / 1024
    print(out)
    print(f"child {child}: RSS after warm-up {rss_warm / 1024:.1f} MB, at the end "
          f"{rss_end / 1024:.1f} MB, growth {growth_mb:+.1f} MB over "
          f"{elapsed - WARMUP_SECONDS:.0f} s; {stats['requests']} requests, "
          f"socket errors (connect, read, write, timeout) {stats['socket_errors']}")
    assert proc.returncode == 0, out
    assert stats["requests"] > 0, out
    assert stats["non2xx"] == 0, out
    # Socket read errors are not checked: with 32 connections and 25 workers
    # the event MPM closes kept-alive connections while all workers are busy
    # (a static file in the same setup gets them too), and wrk counts those.
    assert not srv.crash_lines(), srv.crash_lines()
    assert srv.child_pids() == {child}, "the Apache child was replaced during the run"
    assert rss_warm > 0 and rss_end > 0
    assert growth_mb < 20, f"child RSS grew {growth_mb:.1f} MB ({rss_warm} kB -> {rss_end} kB)"
    # all three still answer, each in its own group
    assert info(srv, "/global")["environ_group"] == ""
    assert info(srv, "/sub1/")["environ_group"] == f"127.0.0.1:{srv.port}|/sub1"
    assert requests.get(srv.url("/sub2/hello/x"), timeout=30).text == "<h1>Hello, x</h1>"

    t0 = time.monotonic()
    srv.stop()  # raises on a hang (10 s) or a crash line
    stop_seconds = time.monotonic() - t0
    print(f"apache stop took {stop_seconds:.2f} s")
    assert stop_seconds < 5, f"stop took {stop_seconds:.2f} s"
    assert not srv.pids()
