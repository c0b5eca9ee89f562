"""Choosing the process group (reference §1.2, §5.5): WSGIProcessGroup in
server, virtual host and <Directory> scope, %{GLOBAL}, %{ENV:VAR}, the
process-group= alias option, WSGIImportScript preloading into a pool, pools
private to a virtual host, unknown groups, WSGIRestrictEmbedded."""

import json
import os
import re
import time

import pytest

import harness
from harness import daemon as hd

PROBE = "@APPS@/daemon_probe.wsgi"


def conf(port2):
    return f"""\
WSGIDaemonProcess gsrv threads=2
WSGIDaemonProcess gdir threads=2
WSGIDaemonProcess galias threads=2
WSGIDaemonProcess genv threads=2
WSGIDaemonProcess gpre threads=2
WSGIImportScript @APPS@/daemon/preload.py process-group=gpre application-group=%{{GLOBAL}}

# server scope
WSGIProcessGroup gsrv
WSGIScriptAlias /srv {PROBE}

# %{{GLOBAL}} in a <Location>, and as the alias option: embedded
WSGIScriptAlias /global {PROBE}
<Location /global>
    WSGIProcessGroup %{{GLOBAL}}
</Location>
WSGIScriptAlias /aliasglobal {PROBE} process-group=%{{GLOBAL}}

# the alias option wins over the server's WSGIProcessGroup
WSGIScriptAlias /alias {PROBE} process-group=galias

# <Directory> scope
WSGIScriptAlias /dir @ROOT@/dirapps/daemon_probe.wsgi
<Directory @ROOT@/dirapps>
    Require all granted
    WSGIProcessGroup gdir
</Directory>

# %{{ENV:VAR}} from SetEnv
WSGIScriptAlias /env {PROBE}
<Location /env>
    SetEnv PROBE_VAR genv
    WSGIProcessGroup %{{ENV:PROBE_VAR}}
</Location>

WSGIScriptAlias /pre {PROBE} process-group=gpre
WSGIScriptAlias /unknown {PROBE} process-group=nosuchpool
WSGIScriptAlias /usevh {PROBE} process-group=gvh

Listen 127.0.0.1:{port2}
<VirtualHost 127.0.0.1:{port2}>
    ServerName vh.example
    WSGIDaemonProcess gvh threads=2
    WSGIProcessGroup gvh
    WSGIScriptAlias /vh {PROBE}
    WSGIScriptAlias /vh-srv {PROBE} process-group=gsrv
</VirtualHost>
"""


@pytest.fixture(scope="module")
def srv(module_apache):
    port2 = harness.free_port()
    s = module_apache(conf(port2), modules=["env"], start=False)
    s.port2 = port2
    d = s.root / "dirapps"
    d.mkdir()
    (d / "daemon_probe.wsgi").write_bytes((s.apps / "daemon_probe.wsgi").read_bytes())
    harness.apache.make_world_readable(d)
    s.start()
    hd.wait_until(lambda: harness.port_open(port2), 10, what="second port")
    return s


def info(port, path):
    status, _, body = hd.get(port, path + "?mode=info")
    assert status == 200, (path, status, body[:2000])
    return json.loads(body)


def pg(port, path):
    return info(port, path)["environ"]["mod_wsgi.process_group"]


def embedded_pids(srv):
    return srv.child_pids()


def test_server_scope(srv):
    i = info(srv.port, "/srv")
    assert i["environ"]["mod_wsgi.process_group"] == "gsrv"
    assert i["pid"] in hd.pool_pids(srv, "gsrv")


@pytest.mark.parametrize("path", ["/global", "/aliasglobal"])
def test_global_means_embedded(srv, path):
    i = info(srv.port, path)
    assert i["environ"]["mod_wsgi.process_group"] == ""
    assert i["pid"] in embedded_pids(srv), "served by an Apache child"


def test_alias_option_process_group(srv):
    i = info(srv.port, "/alias")
    assert i["environ"]["mod_wsgi.process_group"] == "galias"
    assert i["pid"] in hd.pool_pids(srv, "galias")


def test_directory_scope(srv):
    i = info(srv.port, "/dir")
    assert i["environ"]["mod_wsgi.process_group"] == "gdir"
    assert i["pid"] in hd.pool_pids(srv, "gdir")


def test_env_variable_from_setenv(srv):
    i = info(srv.port, "/env")
    assert i["environ"]["PROBE_VAR"] == "genv"
    assert i["environ"]["mod_wsgi.process_group"] == "genv"
    assert i["pid"] in hd.pool_pids(srv, "genv")


def test_virtual_host_scope_and_private_pool(srv):
    i = info(srv.port2, "/vh")
    assert i["environ"]["mod_wsgi.process_group"] == "gvh"
    assert i["pid"] in hd.pool_pids(srv, "gvh")
    # main-server aliases seen from the vhost take the vhost's WSGIProcessGroup
    assert pg(srv.port2, "/srv") == "gvh"
    # a pool of the main server may be used from a virtual host
    assert pg(srv.port2, "/vh-srv") == "gsrv"


def test_pool_of_another_virtual_host_is_refused(srv):
    mark = srv.log_mark()
    status, _, _ = hd.get(srv.port, "/usevh?mode=pid")
    assert status == 500
    srv.wait_for_log(r"gvh[^\n]*(virtual host|accessible|matchable)", mark)


def test_unknown_group_is_500_and_logged(srv):
    mark = srv.log_mark()
    status, _, _ = hd.get(srv.port, "/unknown?mode=pid")
    assert status == 500
    srv.wait_for_log(r"nosuchpool", mark)


def test_import_script_preloads_in_the_pool_before_any_request(srv):
    pids = hd.wait_until(lambda: hd.pool_pids(srv, "gpre"), 10, what="gpre process")
    (pid,) = pids
    marker = srv.markers / f"preload-{pid}"
    hd.wait_until(marker.exists, 10, what=f"preload marker of {pid}")
    mpid, when, group = marker.read_text().split()
    assert int(mpid) == pid
    assert group == "gpre"
    # loaded by the daemon only: no other process ran it
    others = [p for p in os.listdir(srv.markers) if p.startswith("preload-") and p != marker.name]
    assert not others, others
    t_request = time.time()
    i = info(srv.port, "/pre")
    assert i["pid"] == pid
    assert float(when) < t_request
    # the log says where it went
    assert re.search(r"daemon/preload\.py", srv.error_log())


def test_restrict_embedded_with_daemon_mode_serves_everything(apache):
    srv = apache(f"""\
WSGIRestrictEmbedded On
WSGIDaemonProcess only threads=2
WSGIProcessGroup only
WSGIScriptAlias /a {PROBE}
WSGIScriptAlias /b @APPS@/hello.wsgi
WSGIScriptAlias /emb {PROBE} process-group=%{{GLOBAL}}
""")
    for path in ("/a?mode=pid", "/b"):
        status, _, body = hd.get(srv.port, path)
        assert status == 200, body[:500]
    mark = srv.log_mark()
    assert hd.get(srv.port, "/emb?mode=pid")[0] == 500
    srv.wait_for_log(r"WSGIRestrictEmbedded|[Ee]mbedded mode", mark)
    # Apache's children never started Python; only the daemon did
    init = {int(m.group(1)) for m in
            re.finditer(r"\[pid (\d+)[^\]]*\][^\n]*Initiali[sz]ing Python", srv.error_log())}
    daemons = hd.pool_pids(srv, "only")
    assert init, srv.error_log_tail()
    assert init <= daemons, f"Python initialised in {init - daemons} (daemons: {daemons})"
