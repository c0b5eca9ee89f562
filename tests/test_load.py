"""Loading the module: MPMs, configuration errors, Python start-up."""

import re

import pytest
import requests

import harness

HELLO = "WSGIScriptAlias /hello @APPS@/hello.wsgi\n"


@pytest.mark.parametrize("mpm", ["event", "worker", "prefork"])
def test_module_serves_requests_under_each_mpm(apache, mpm):
    srv = apache(HELLO, mpm=mpm)
    for _ in range(10):
        r = requests.get(srv.url("/hello"), timeout=30)
        assert r.status_code == 200
        assert r.text == "Hello World!"
    # (teardown: stop within 10 s, and no crashed child in the error log)


def test_all_implemented_directives_are_accepted(configtest):
    rc, out = configtest("""\
WSGIScriptAlias /a @APPS@/hello.wsgi process-group=%{GLOBAL} application-group=%{GLOBAL} callable-object=application pass-authorization=On
WSGIScriptAliasMatch ^/m/([^/]+) @APPS@/$1.wsgi application-group=%{GLOBAL} pass-authorization=Off
WSGICallableObject application
WSGIPassAuthorization On
WSGIScriptReloading Off
WSGIChunkedRequest On
WSGIMapHEADToGET Auto
WSGIEnableSendfile On
WSGIPythonPath @APPS@/pylib
WSGIPythonOptimize 1
WSGIPythonHashSeed 123
WSGIPythonWarnings ignore::DeprecationWarning
WSGIPythonWarnings error::ResourceWarning
WSGIDontWriteBytecode On
WSGISocketPrefix run/wsgi
WSGITelemetryService unix:/tmp/telemetry.sock interval=1.0
WSGISlowRequests 10
WSGITelemetryOptions +CaptureUserAgent
<VirtualHost *:@PORT@>
    ServerName vhost.example
    WSGIScriptAlias /v @APPS@/hello.wsgi
    WSGIPassAuthorization Off
    WSGIApplicationGroup %{GLOBAL}
</VirtualHost>
<Location /a>
    WSGICallableObject application
    WSGIPassAuthorization Off
    WSGIScriptReloading On
    WSGIChunkedRequest Off
    WSGIMapHEADToGET On
    WSGIEnableSendfile Off
    WSGIApplicationGroup %{GLOBAL}
</Location>
""")
    assert rc == 0, out
    assert "Syntax OK" in out


def _syntax_error_at(out, srv, needle):
    line = srv.conf_line_of(needle)
    return f"line {line} of {srv.conf}" in out


def test_misspelt_alias_option_names_file_line_and_accepted_options(configtest):
    rc, out = configtest("WSGIScriptAlias / @APPS@/hello.wsgi proces-group=x\n")
    assert rc != 0
    assert _syntax_error_at(out, configtest.last, "proces-group=x"), out
    assert "proces-group" in out
    for accepted in ("process-group", "application-group", "callable-object",
                     "pass-authorization"):
        assert accepted in out, out


def test_misspelt_alias_match_option_is_an_error(configtest):
    rc, out = configtest("WSGIScriptAliasMatch ^/x(.*) @APPS@/hello.wsgi callable_object=app\n")
    assert rc != 0
    assert _syntax_error_at(out, configtest.last, "callable_object=app"), out
    assert "callable-object" in out


@pytest.mark.parametrize("option", ["application-group=", "process-group"])
def test_alias_option_without_value_is_an_error(configtest, option):
    rc, out = configtest(f"WSGIScriptAlias /x @APPS@/hello.wsgi {option}\n")
    assert rc != 0, out
    assert _syntax_error_at(out, configtest.last, option), out


def test_pass_authorization_must_be_on_or_off(configtest):
    rc, out = configtest("WSGIPassAuthorization Maybe\n")
    assert rc != 0
    assert _syntax_error_at(out, configtest.last, "WSGIPassAuthorization Maybe"), out
    assert "WSGIPassAuthorization" in out
    assert "On" in out and "Off" in out


def test_map_head_to_get_accepts_on_off_auto_only(configtest):
    rc, out = configtest("WSGIMapHEADToGET Sometimes\n")
    assert rc != 0
    assert _syntax_error_at(out, configtest.last, "WSGIMapHEADToGET Sometimes"), out
    for word in ("On", "Off", "Auto"):
        assert word in out, out


@pytest.mark.parametrize("value", ["abc", "-1", "4294967296"])
def test_invalid_hash_seed_is_an_error(configtest, value):
    rc, out = configtest(f"WSGIPythonHashSeed {value}\n")
    assert rc != 0, out
    assert _syntax_error_at(out, configtest.last, "WSGIPythonHashSeed"), out


def test_invalid_optimize_level_is_an_error(configtest):
    rc, out = configtest("WSGIPythonOptimize lots\n")
    assert rc != 0, out
    assert _syntax_error_at(out, configtest.last, "WSGIPythonOptimize"), out


@pytest.mark.parametrize("fragment,needle", [
    ("<VirtualHost *:@PORT@>\n    WSGIPythonOptimize 1\n</VirtualHost>\n", "WSGIPythonOptimize"),
    ("<VirtualHost *:@PORT@>\n    WSGIPythonPath /tmp\n</VirtualHost>\n", "WSGIPythonPath"),
    ("<Location /x>\n    WSGISocketPrefix run/wsgi\n</Location>\n", "WSGISocketPrefix"),
    ("<Location /x>\n    WSGIScriptAlias /x @APPS@/hello.wsgi\n</Location>\n", "WSGIScriptAlias"),
])
def test_server_only_directives_are_refused_elsewhere(configtest, fragment, needle):
    rc, out = configtest(fragment)
    assert rc != 0, out
    assert needle in out
    assert _syntax_error_at(out, configtest.last, needle), out


def test_missing_python_home_refuses_to_start(apache):
    missing = "/nonexistent/mod_wsgi_rs/venv-4711"
    with pytest.raises(harness.ApacheError) as excinfo:
        apache(HELLO, python_home=missing)
    assert missing in str(excinfo.value)
    srv = apache.servers[-1]
    assert not srv.pids(), "no Apache process may be left running"


def test_python_is_initialised_in_children_never_in_parent(apache):
    srv = apache(HELLO, mpm="prefork")
    assert requests.get(srv.url("/hello"), timeout=30).status_code == 200
    init_rx = re.compile(r"initiali[sz]\w* python", re.I)

    def init_pids():
        pids = set()
        for line in srv.error_log().splitlines():
            if init_rx.search(line):
                m = re.search(r"\[pid (\d+)", line)
                assert m, f"no [pid N] in {line!r}"
                pids.add(int(m.group(1)))
        return pids

    pids = init_pids()
    assert pids, ("expected an 'Initializing Python' line (LogLevel info) from each "
                  "child:\n" + srv.error_log_tail())
    assert srv.parent_pid not in pids
    # after a graceful restart the parent re-reads the config: still no Python
    srv.graceful()
    assert requests.get(srv.url("/hello"), timeout=30).status_code == 200
    assert srv.parent_pid not in init_pids()


def test_debian_load_file_refuses_to_load_next_to_mod_wsgi(configtest):
    # The base config has already loaded a module named mod_wsgi.c (ours; the
    # original has the same name), as mods-enabled/wsgi.load would have.
    rc, out = configtest(f"Include {harness.REPO}/conf.d/debian/wsgi_rs.load\n")
    assert rc != 0
    assert "a2dismod wsgi" in out


def test_debian_load_and_conf_files_work_in_a_clean_apache(configtest, tmp_path):
    so = harness.module_so_path()
    load = (harness.REPO / "conf.d/debian/wsgi_rs.load").read_text()
    assert "/usr/lib/apache2/modules/mod_wsgi_rs.so" in load
    load = load.replace("/usr/lib/apache2/modules/mod_wsgi_rs.so", str(so))
    conf = (harness.REPO / "conf.d/debian/wsgi_rs.conf").read_text()
    rc, out = configtest(load + "\n" + conf + "\n" + HELLO, load_wsgi=False)
    assert rc == 0, out
