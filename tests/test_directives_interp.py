"""Directives about interpreters and processes (reference §1.2, §4.2):
WSGIImportScript, WSGIRestrict*, WSGICaseSensitivity, WSGISwitchInterval,
WSGIPythonEggs, WSGIDestroyInterpreter, <WSGIInterpreterOptions>,
WSGIPerInterpreterGIL, WSGIFreeThreading, WSGIVerboseDebugging,
WSGIPassApacheRequest."""

import re
import time

import pytest
import requests


def probe(srv, path, ops=(), status=200):
    query = "&".join(f"op={o}" for o in ops)
    r = requests.get(srv.url(path + (f"?{query}" if query else "")), timeout=30)
    assert r.status_code == status, (path, r.status_code, r.text[:500])
    return r.json() if status == 200 else r


def _syntax_error_at(out, srv, needle):
    return f"line {srv.conf_line_of(needle)} of {srv.conf}" in out


# ------------------------------------------------------------ WSGIImportScript

IMPORT_CONF = """\
WSGIImportScript @APPS@/import_probe.py process-group=%{GLOBAL} application-group=%{GLOBAL}
WSGIImportScript @APPS@/import_probe.py process-group=%{GLOBAL} application-group=web
WSGIScriptAlias /global @APPS@/interp_probe.wsgi
WSGIScriptAlias /web @APPS@/interp_probe.wsgi application-group=web
WSGIScriptAlias /other @APPS@/interp_probe.wsgi application-group=other
"""


def wait_for_markers(srv, names, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        present = {p.name for p in srv.markers.iterdir()}
        if names <= present:
            return present
        if time.monotonic() > deadline:
            return present
        time.sleep(0.05)


def test_import_script_runs_at_child_start(apache):
    srv = apache(IMPORT_CONF)
    children = srv.child_pids()
    assert children
    # before any request: each child has run the script in both interpreters
    expected = {f"import-{g}-{pid}" for pid in children for g in ("GLOBAL", "web")}
    present = wait_for_markers(srv, expected)
    assert expected <= present, f"expected markers {sorted(expected)}, found {sorted(present)}"
    ran_in = {int(name.rsplit("-", 1)[1]) for name in present if name.startswith("import-")}
    assert srv.parent_pid not in ran_in, "the import script ran in the Apache parent"
    log = srv.error_log()
    path = str(srv.apps / "import_probe.py")
    loading = [l for l in log.splitlines() if "Loading WSGI script" in l and path in l]
    assert loading, log[-3000:]
    assert not srv.access_log().strip(), "no request was made yet"


def test_import_script_state_is_seen_by_the_app_of_its_group(apache):
    srv = apache(IMPORT_CONF)
    for _ in range(4):  # whichever child answers, it ran the script
        g = probe(srv, "/global")
        assert g["group"] == ""
        assert g["state"]["imported_by"] == {"group": "", "pid": g["pid"]}
        w = probe(srv, "/web")
        assert w["group"] == "web"
        assert w["state"]["imported_by"] == {"group": "web", "pid": w["pid"]}
        o = probe(srv, "/other")
        assert o["group"] == "other"
        assert o["state"]["imported_by"] is None  # no import script for 'other'


# -------------------------------------------------------- WSGIRestrictEmbedded

def test_restrict_embedded(apache):
    srv = apache("WSGIRestrictEmbedded On\nWSGIScriptAlias /hello @APPS@/hello.wsgi\n")
    mark = srv.log_mark()
    r = requests.get(srv.url("/hello"), timeout=30)
    assert r.status_code == 500
    srv.wait_for_log(r"Embedded mode of mod_wsgi disabled", mark)
    log = srv.error_log()
    assert "Python is not started in this process" in log
    assert not re.search(r"Initiali[sz]ing Python", log), log[-3000:]


# ---------------------------------------------- defaults of the WSGIRestrict*

DEFAULTS_CONF = """\
WSGIImportScript @APPS@/import_probe.py process-group=%{GLOBAL} application-group=%{GLOBAL}
WSGIScriptAlias /probe @APPS@/interp_probe.wsgi
"""

RESTRICTED_CONF = """\
WSGIRestrictStdin On
WSGIRestrictStdout On
WSGIRestrictSignal Off
WSGISwitchInterval 0.01
WSGIPythonEggs @ROOT@/egg-cache
WSGIPassApacheRequest On
WSGIImportScript @APPS@/import_probe.py process-group=%{GLOBAL} application-group=%{GLOBAL}
WSGIScriptAlias /probe @APPS@/interp_probe.wsgi
WSGIScriptAlias /no-request-rec @APPS@/interp_probe.wsgi
<Location /no-request-rec>
    WSGIPassApacheRequest Off
</Location>
"""


@pytest.fixture(scope="module")
def defaults(module_apache):
    return module_apache(DEFAULTS_CONF)


@pytest.fixture(scope="module")
def restricted(module_apache):
    return module_apache(RESTRICTED_CONF)


def test_stdin_is_usable_by_default(defaults):
    assert probe(defaults, "/probe", ["stdin"])["stdin"] == {"ok": True, "value": ""}


def test_restrict_stdin(restricted):
    result = probe(restricted, "/probe", ["stdin"])["stdin"]
    assert result["ok"] is False
    assert result["error"].startswith("OSError"), result
    assert "restricted" in result["error"], result


def test_restrict_stdout(restricted):
    mark = restricted.log_mark()
    result = probe(restricted, "/probe", ["stdout"])["stdout"]
    assert result["ok"] is False
    assert result["error"].startswith("OSError"), result
    assert "restricted" in result["error"], result
    time.sleep(0.2)
    assert "interp_probe: a line on stdout" not in restricted.log_since(mark)


def test_restricted_streams_leave_no_traceback_at_stop(apache):
    # Python flushes sys.stdout/sys.stderr when it finalises at child exit;
    # the restricted stand-in must not turn that into an error-log traceback.
    srv = apache("WSGIRestrictStdin On\nWSGIRestrictStdout On\n"
                 "WSGIScriptAlias /probe @APPS@/interp_probe.wsgi\n")
    assert probe(srv, "/probe", ["stdout"])["stdout"]["ok"] is False
    mark = srv.log_mark()
    # What happens at exit is the subject, not the hard stop (see harness stop()).
    srv.stop(graceful=True)
    at_stop = srv.log_since(mark)
    assert "Exception ignored" not in at_stop, at_stop[-3000:]
    assert "access restricted" not in at_stop, at_stop[-3000:]


def test_signal_registration_is_ignored_by_default(defaults):
    mark = defaults.log_mark()
    data = probe(defaults, "/probe", ["signal"])
    # from a request thread: returns the handler, installs nothing, no error
    assert data["signal"] == {"ok": True,
                              "value": {"returned_handler": True, "installed": False}}
    # from the child's main thread (WSGIImportScript at start): the same
    assert data["state"]["signal"] == {"returned_handler": True, "installed": False}
    # and the log says so, for the request ...
    line = defaults.wait_for_log(r"[^\n]*[Ss]ignal[^\n]*ignored[^\n]*", mark).group(0)
    assert "[client 127.0.0.1:" in line, line
    # ... and for the import script at child start
    assert len(re.findall(r"[Ss]ignal[^\n]*ignored", defaults.error_log())) >= 2


def test_restrict_signal_off_installs_the_handler(restricted):
    data = probe(restricted, "/probe", ["signal"])
    # on the main thread (import script at child start) Python installs it
    assert data["state"]["signal"] == {"returned_handler": False, "installed": True}
    # in a request thread the call reaches Python's own signal.signal, which
    # only works in the main thread
    assert data["signal"]["ok"] is False
    assert data["signal"]["error"].startswith("ValueError"), data["signal"]
    assert "main thread" in data["signal"]["error"]


def test_switch_interval(restricted, defaults):
    assert probe(restricted, "/probe")["switch_interval"] == pytest.approx(0.01)
    assert probe(defaults, "/probe")["switch_interval"] == pytest.approx(0.005)


def test_python_eggs(restricted, defaults):
    assert probe(restricted, "/probe")["egg_cache"] == str(restricted.root / "egg-cache")
    assert probe(defaults, "/probe")["egg_cache"] is None


def test_pass_apache_request(restricted, defaults):
    on = probe(restricted, "/probe")
    assert on["has_request_rec"] is True
    assert on["request_rec_type"] == "PyCapsule"
    off = probe(restricted, "/no-request-rec")
    assert off["has_request_rec"] is False
    assert probe(defaults, "/probe")["has_request_rec"] is False


# -------------------------------------------------------- WSGIRestrictProcess

def test_restrict_process(apache):
    srv = apache("""\
WSGIScriptAlias /allowed @APPS@/hello.wsgi
WSGIScriptAlias /denied @APPS@/hello.wsgi
<Location /allowed>
    WSGIRestrictProcess %{GLOBAL}
</Location>
<Location /denied>
    WSGIRestrictProcess other
</Location>
""")
    r = requests.get(srv.url("/allowed"), timeout=30)
    assert (r.status_code, r.text) == (200, "Hello World!")
    mark = srv.log_mark()
    r = requests.get(srv.url("/denied"), timeout=30)
    assert r.status_code == 500
    line = srv.wait_for_log(r"[^\n]*WSGIRestrictProcess[^\n]*", mark).group(0)
    assert "[client 127.0.0.1:" in line, line


# ---------------------------------------------------------- WSGICaseSensitivity

CASE_CONF = "WSGIScriptAlias /Mount @APPS@/groupinfo.wsgi\n"


@pytest.mark.parametrize("setting,expected", [
    ("WSGICaseSensitivity Off\n", "|/mount"),
    ("", "|/Mount"),  # default on Linux: On
])
def test_case_sensitivity_of_the_resource_group(apache, setting, expected):
    srv = apache(setting + CASE_CONF, global_application_group=False)
    r = requests.get(srv.url("/Mount/x"), timeout=30)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["SCRIPT_NAME"] == "/Mount"
    assert data["environ_group"] == f"127.0.0.1:{srv.port}{expected}"


# -------------------------------------------------------- WSGIDestroyInterpreter

ATEXIT_CONF = """\
WSGIScriptAlias /global @APPS@/atexit_app.wsgi
WSGIScriptAlias /sub @APPS@/atexit_app.wsgi application-group=sub
"""


def served_pids(srv, path, n=6):
    pids = set()
    for _ in range(n):
        r = requests.get(srv.url(path), timeout=30)
        assert r.status_code == 200, r.text
        pids.add(int(r.text.split()[0]))
    return pids


@pytest.mark.parametrize("setting", ["", "WSGIDestroyInterpreter On\n"])
def test_atexit_runs_at_stop_by_default(apache, setting):
    srv = apache(setting + ATEXIT_CONF)
    global_pids = served_pids(srv, "/global")
    sub_pids = served_pids(srv, "/sub")
    assert not list(srv.markers.glob("atexit-*"))
    # What happens at exit is the subject, not the hard stop (see harness stop()).
    srv.stop(graceful=True)
    written = {p.name for p in srv.markers.glob("atexit-*")}
    expected = ({f"atexit-GLOBAL-{p}" for p in global_pids}
                | {f"atexit-sub-{p}" for p in sub_pids})
    assert expected <= written, f"expected {sorted(expected)}, written {sorted(written)}"


def test_destroy_interpreter_off_skips_atexit(apache):
    srv = apache("WSGIDestroyInterpreter Off\n" + ATEXIT_CONF)
    served_pids(srv, "/global")
    served_pids(srv, "/sub")
    t0 = time.monotonic()
    # What happens at exit is the subject, not the hard stop (see harness stop()).
    srv.stop(graceful=True)
    assert time.monotonic() - t0 < 5
    assert not list(srv.markers.glob("atexit-*"))


# ------------------------------------------------------ <WSGIInterpreterOptions>

OPTIONS_CONF = """\
<WSGIInterpreterOptions application-group=web>
    WSGIPythonPath @ROOT@/webpath
    WSGIRestrictStdin On
</WSGIInterpreterOptions>
WSGIScriptAlias /web @APPS@/interp_probe.wsgi application-group=web
WSGIScriptAlias /other @APPS@/interp_probe.wsgi application-group=other
WSGIScriptAlias /global @APPS@/interp_probe.wsgi
"""


def test_interpreter_options_block_applies_to_its_group_only(apache):
    srv = apache(OPTIONS_CONF, start=False)
    (srv.root / "webpath").mkdir()
    srv.start()
    webpath = str(srv.root / "webpath")
    web = probe(srv, "/web", ["stdin"])
    assert web["group"] == "web"
    assert web["path"][0] == webpath, web["path"]
    assert web["stdin"]["ok"] is False and "restricted" in web["stdin"]["error"], web["stdin"]
    for path in ("/other", "/global"):
        data = probe(srv, path, ["stdin"])
        assert webpath not in data["path"], (path, data["path"])
        assert data["stdin"] == {"ok": True, "value": ""}, (path, data["stdin"])


def test_interpreter_options_block_refuses_other_directives(configtest):
    rc, out = configtest("""\
<WSGIInterpreterOptions application-group=web>
    WSGIRestrictStdin On
    WSGIScriptReloading Off
</WSGIInterpreterOptions>
""")
    assert rc != 0, out
    assert "WSGIScriptReloading" in out, out
    assert "WSGIInterpreterOptions" in out, out


# ------------------------------------ WSGIPerInterpreterGIL, WSGIFreeThreading

@pytest.mark.parametrize("directive,hint", [
    ("WSGIPerInterpreterGIL", "3.12"),
    ("WSGIFreeThreading", "free-threaded"),
])
def test_unsupported_python_features_are_refused(configtest, directive, hint):
    rc, out = configtest(f"{directive} On\n")
    assert rc != 0, out
    assert directive in out, out
    assert hint in out, out
    assert "3.11" in out, out  # says which Python this build embeds
    assert _syntax_error_at(out, configtest.last, f"{directive} On"), out
    rc, out = configtest(f"{directive} Off\n")
    assert rc == 0, out
    assert "Syntax OK" in out


def test_verbose_debugging_is_accepted(configtest, apache):
    rc, out = configtest("WSGIVerboseDebugging On\n")
    assert rc == 0, out
    assert "Syntax OK" in out
    assert "WSGIVerboseDebugging" in out, out  # the deprecation notice
    srv = apache("WSGIVerboseDebugging On\nWSGIScriptAlias /hello @APPS@/hello.wsgi\n")
    assert requests.get(srv.url("/hello"), timeout=30).text == "Hello World!"
