"""mod_wsgi_rs-express (express/mod_wsgi_rs): mod_wsgi-express 6's commands for our module.

Fast unit tests of the pure parts (config.render, the handler, the reload watcher, option
errors), then the CLI run as a subprocess (`python -m mod_wsgi_rs`, PYTHONPATH=express,
MOD_WSGI_RS_SO = the built module) against the real Debian Apache, with real HTTP requests.
"""

import gzip
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests
import urllib3

import harness

REPO = Path(__file__).resolve().parents[1]
EXPRESS = REPO / "express"
sys.path.insert(0, str(EXPRESS))

from mod_wsgi_rs import cli, config, handler, reload  # noqa: E402

PYTHON_HOME = os.path.normpath(sys.prefix)

APP = '''\
from wsgiref.validate import validator

import express_msg


def app(environ, start_response):
    body = "|".join([
        express_msg.MESSAGE,
        environ.get("SCRIPT_NAME", ""),
        environ.get("PATH_INFO", ""),
        environ.get("mod_wsgi.process_group", ""),
        environ.get("EXPRESS_SETENV", ""),
        environ["wsgi.url_scheme"],
    ]).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


application = validator(app)
'''

MODULE_APP = '''\
from wsgiref.validate import validator


def _app(environ, start_response):
    body = ("module app|" + environ.get("SCRIPT_NAME", "") + "|"
            + environ.get("PATH_INFO", "")).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


wsgi_app = validator(_app)
'''


# --------------------------------------------------------------------------- unit tests

def options(**kw):
    base = dict(app="/srv/site/app.wsgi", server_root="/tmp/srvroot", module_so="/m/mod_wsgi_rs.so",
                python_home="/venv", working_directory="/srv/site", user="www-data",
                group="www-data", uid=0)
    base.update(kw)
    return config.ServerOptions(**base)


def test_config_daemon_mode_default():
    text = config.render(options())
    assert "Listen 8000\n" in text
    assert "ServerName localhost\n" in text
    assert "User www-data\nGroup www-data\n" in text
    assert 'LoadModule wsgi_module "/m/mod_wsgi_rs.so"' in text
    assert 'WSGIPythonHome "/venv"' in text
    assert "WSGIDaemonProcess localhost:8000 \\\n" in text
    assert "processes=" not in text  # a single process: wsgi.multiprocess is False
    for opt in ("python-home=/venv", "home=/srv/site", "python-path=/srv/site",
                "threads=5", "request-timeout=60", "queue-timeout=45", "graceful-timeout=15",
                "maximum-requests=0", "display-name=(wsgi:localhost:8000:0)"):
        assert f"    {opt}" in text, opt
    assert "WSGIProcessGroup localhost:8000\n" in text
    assert "WSGIApplicationGroup %{GLOBAL}\n" in text
    assert ('WSGIScriptAlias / "/tmp/srvroot/handler.wsgi" process-group=localhost:8000 '
            'application-group=%{GLOBAL}') in text
    assert "WSGIRestrictEmbedded On" in text
    assert "mod_ssl" not in text and "WSGIImportScript" not in text
    assert "LoadModule mpm_event_module" in text
    # every section says what it is
    assert text.count("# ---- ") >= 6


def test_config_embedded_mode_and_sizing():
    text = config.render(options(embedded_mode=True, processes=3, threads=4,
                                 python_paths=["/lib/a"], maximum_requests=100))
    assert "WSGIDaemonProcess" not in text and "WSGIRestrictEmbedded" not in text
    assert 'WSGIPythonPath "/srv/site:/lib/a"' in text
    assert "process-group=%{GLOBAL} application-group=%{GLOBAL}" in text
    assert "    ServerLimit             3\n" in text
    assert "    ThreadsPerChild         4\n" in text
    assert "    MaxRequestWorkers       12\n" in text
    assert "    MaxConnectionsPerChild  100\n" in text


def test_config_every_optional_section():
    text = config.render(options(
        host="127.0.0.1", port=8080, server_name="example.com", mount_point="/app",
        url_aliases=[("/static", "/srv/static"), ("/robots.txt", "/srv/robots.txt")],
        url_alias_is_dir=[True, False], https_port=8443, ssl_certificate_file="/c.pem",
        ssl_certificate_key_file="/k.pem", http2=True, trust_proxy_headers=["X-Forwarded-For",
        "X-Forwarded-Proto"], trust_proxies=["10.0.0.0/8", "127.0.0.1"], server_status=True,
        include_files=["/etc/extra.conf"], setenv=[("NAME", 'va"lue')],
        compress_responses=True, access_log=True, log_level="info", reload_on_changes=True))
    assert "Listen 127.0.0.1:8080\n" in text and "Listen 127.0.0.1:8443\n" in text
    assert "ServerName example.com" in text
    assert "WSGIDaemonProcess 127.0.0.1:8080" in text
    assert 'WSGIScriptAlias /app "/tmp/srvroot/handler.wsgi"' in text
    assert 'Alias "/static" "/srv/static"\n<Directory "/srv/static">' in text
    assert '<Directory "/srv">\n    <Files "robots.txt">' in text
    assert "LoadModule ssl_module" in text and "LoadModule socache_shmcb_module" in text
    assert "<VirtualHost *:8443>" in text and "SSLEngine on" in text
    assert 'SSLCertificateFile "/c.pem"' in text and 'SSLCertificateKeyFile "/k.pem"' in text
    assert "LoadModule http2_module" in text and "Protocols h2 h2c http/1.1" in text
    assert "WSGITrustedProxyHeaders X-Forwarded-For X-Forwarded-Proto" in text
    assert "WSGITrustedProxies 10.0.0.0/8 127.0.0.1" in text
    assert "LoadModule status_module" in text and "SetHandler server-status" in text
    assert 'Include "/etc/extra.conf"' in text
    assert 'SetEnv NAME "va\\"lue"' in text
    assert "LoadModule deflate_module" in text and "LoadModule filter_module" in text
    assert "AddOutputFilterByType DEFLATE application/json" in text
    assert 'CustomLog "/tmp/srvroot/logs/access.log" combined' in text
    assert "LogLevel info" in text
    assert 'WSGIImportScript "/tmp/srvroot/handler.wsgi" process-group=127.0.0.1:8080' in text


def test_config_log_to_terminal_and_quoting():
    text = config.render(options(log_to_terminal=True, access_log=True,
                                 working_directory="/srv/my site"))
    assert 'ErrorLog "/dev/stderr"' in text and 'CustomLog "/dev/stdout"' in text
    assert '    "home=/srv/my site" \\' in text
    assert config.listen_address("::1", 80) == "[::1]:80"
    assert config.quote('a\\b"c') == '"a\\\\b\\"c"'
    ctl = config.render_apachectl(options(server_root="/tmp/it's"))
    assert "CONF='/tmp/it'\\''s/httpd.conf'" in ctl
    assert "configtest)" in ctl and "-k \"$cmd\"" in ctl


@pytest.mark.parametrize("kind", ["script", "module", "paste"])
def test_handler_is_valid_python(kind):
    app = "pkg.web" if kind == "module" else "/srv/site/app.ini"
    source = handler.render_handler(options(app=app, application_type=kind,
                                            reload_on_changes=True))
    compile(source, "handler.wsgi", "exec")
    assert f"APPLICATION_TYPE = {kind!r}" in source
    assert "RELOAD_ON_CHANGES = True" in source


def test_reload_watcher_without_directories_watches_every_module_outside_the_libraries(tmp_path):
    """What the handler asks for, as mod_wsgi-express watches all of sys.modules: an app
    that put its own directory on sys.path is watched too."""
    import types
    mine = tmp_path / "anywhere" / "views.py"
    mine.parent.mkdir()
    mine.write_text("x = 1\n")
    modules = {"views": types.SimpleNamespace(__file__=str(mine)), "os": os, "json": __import__("json")}
    w = reload.Watcher([], modules=modules)
    w.scan()
    assert list(w.mtimes) == [os.path.realpath(mine)]


def test_reload_watcher_sees_changed_module_files(tmp_path):
    import types
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    watched = app_dir / "mod.py"
    watched.write_text("x = 1\n")
    outside = tmp_path / "outside.py"
    outside.write_text("y = 1\n")
    handler_file = app_dir / "handler.wsgi"
    handler_file.write_text("")
    modules = {name: types.SimpleNamespace(__file__=str(path)) for name, path in
               [("mod", watched), ("outside", outside), ("h", handler_file)]}
    modules["os"] = os  # the standard library is never watched
    modules["builtin"] = types.SimpleNamespace()
    w = reload.Watcher([str(app_dir)], ignore=[str(handler_file)], modules=modules)
    assert w.scan() == []  # the baseline
    assert sorted(w.mtimes) == [os.path.realpath(watched)]
    for path in (outside, handler_file, watched):
        os.utime(path, ns=(1, 10**18))
    changed = w.scan()
    assert changed == [(os.path.realpath(watched), 10**18)]
    assert w.scan() == []
    # touch() gives the handler the changed file's mtime, once
    assert reload.touch(str(handler_file), 5 * 10**17)
    assert handler_file.stat().st_mtime_ns == 5 * 10**17
    assert not reload.touch(str(handler_file), 5 * 10**17)
    watched.unlink()
    assert [p for p, _ in w.scan()] == [os.path.realpath(watched)]


def test_cli_defaults(tmp_path, monkeypatch):
    app = tmp_path / "app.wsgi"
    app.write_text("")
    monkeypatch.setenv("MOD_WSGI_RS_SO", str(harness.module_so_path()))
    monkeypatch.chdir(tmp_path)
    _, commands = cli.build_parser()
    o = cli.resolve(commands["setup-server"].parse_args(["app.wsgi"]))
    assert o.app == str(app) and o.working_directory == str(tmp_path)
    assert o.server_root == f"/tmp/mod_wsgi_rs-localhost:8000:{os.getuid()}"
    assert o.port == 8000 and o.host is None and o.threads == 5 and o.processes is None
    assert o.python_home == PYTHON_HOME and o.module_so == str(harness.module_so_path())
    assert o.user == ("www-data" if os.geteuid() == 0 else cli.default_user())
    assert o.log_level == "warn" and not o.embedded_mode
    o = cli.resolve(commands["setup-server"].parse_args(
        ["app.wsgi", "--host", "127.0.0.1", "--port", "9000", "--mount-point", "/x/"]))
    assert o.server_root == f"/tmp/mod_wsgi_rs-127.0.0.1:9000:{os.getuid()}"
    assert o.process_group == "127.0.0.1:9000" and o.mount_point == "/x"


@pytest.mark.parametrize("argv, message", [
    (["start-server", "app.wsgi", "--prot", "9000"], "unknown option --prot; did you mean --port?"),
    (["setup-server", "--thread=3", "app.wsgi"], "unknown option --thread; did you mean --threads?"),
    (["start-server", "app.wsgi", "--embeded-mode"], "did you mean --embedded-mode?"),
    (["start-server", "app.wsgi", "--enable-debugger"],
     "--enable-debugger is a mod_wsgi-express option that mod_wsgi_rs-express does not support"),
    (["start-sever", "app.wsgi"], "unknown command start-sever; did you mean start-server?"),
    (["install-module", "--modules-dir", "/x"], "did you mean --modules-directory?"),
])
def test_mistyped_options_name_the_nearest(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_config_daemon_options_as_mod_wsgi_express():
    text = config.render(options(
        startup_timeout=20, shutdown_timeout=6, deadlock_timeout=30, connect_timeout=10,
        socket_timeout=30, restart_interval=3600, eviction_timeout=7, inactivity_timeout=100,
        interrupt_timeout=2, cpu_time_limit=50, daemon_backlog=64, send_buffer_size=1024,
        receive_buffer_size=2048, header_buffer_size=16384, response_buffer_size=131072,
        response_socket_timeout=9, response_flush_delay=3, switch_interval=0.01,
        server_metrics=True, lang="C.UTF-8", locale="C.UTF-8", python_eggs="/eggs",
        process_group_name="web", application_group="app one", ignore_activity=["/health"]))
    for opt in ("startup-timeout=20", "shutdown-timeout=6", "deadlock-timeout=30",
                "connect-timeout=10", "socket-timeout=30", "restart-interval=3600",
                "eviction-timeout=7", "inactivity-timeout=100", "interrupt-timeout=2",
                "cpu-time-limit=50", "listen-backlog=64", "send-buffer-size=1024",
                "receive-buffer-size=2048", "header-buffer-size=16384",
                "response-buffer-size=131072", "response-socket-timeout=9",
                "response-flush-delay=3", "server-metrics=On", "switch-interval=0.01",
                "lang=C.UTF-8", "locale=C.UTF-8", "python-eggs=/eggs", "display-name=(wsgi:web)"):
        assert f"    {opt}" in text, opt
    assert "WSGIDaemonProcess web \\\n" in text and "WSGIProcessGroup web\n" in text
    assert 'process-group=web application-group="app one"' in text
    assert 'WSGIApplicationGroup "app one"' in text
    assert "Timeout 30\n" in text
    assert "WSGIServerMetrics On" in text and "ExtendedStatus On" in text
    assert "LoadModule status_module" in text
    assert "WSGISwitchInterval 0.01" in text
    assert '<Location "/health">\n    WSGIIgnoreActivity On\n</Location>' in text


def test_config_apache_defaults_as_mod_wsgi_express():
    text = config.render(options())
    for line in ("ListenBacklog 500", "LimitRequestBody 10485760", "KeepAlive On",
                 "KeepAliveTimeout 2", "RequestReadTimeout header=15-30,MinRate=500 body=15,MinRate=500",
                 "WSGIMapHEADToGET Auto", "LoadModule reqtimeout_module", "    listen-backlog=100",
                 "    startup-timeout=15", "    deadlock-timeout=60", "    server-metrics=Off",
                 "    MaxKeepAliveRequests    0"):
        assert line in text, line
    for absent in ("WSGIChunkedRequest", "WSGIDestroyInterpreter", "EnableSendfile",
                   "WSGIScriptReloading", "WSGIVerboseDebugging", "WSGIHandlerScript", "VirtualHost"):
        assert absent not in text, absent
    text = config.render(options(
        keep_alive_timeout=0, limit_request_body=0, server_backlog=50, header_timeout=0,
        body_timeout=20, body_max_timeout=40, body_min_rate=0, map_head_to_get="Off",
        chunked_request=True, orphan_interpreter=True, enable_sendfile=True,
        disable_reloading=True, verbose_debugging=True, python_warnings=["ignore::DeprecationWarning"],
        passenv=["HOME"], socket_prefix="/run/x", mime_types="/m.types", pid_file="/p.pid"))
    for line in ("KeepAlive Off", "LimitRequestBody 0", "ListenBacklog 50",
                 "RequestReadTimeout body=20-40\n", "WSGIMapHEADToGET Off", "WSGIChunkedRequest On",
                 "WSGIDestroyInterpreter Off", "EnableSendfile On", "WSGIEnableSendfile On",
                 "WSGIScriptReloading Off", "WSGIVerboseDebugging On",
                 'WSGIPythonWarnings "ignore::DeprecationWarning"', "PassEnv HOME",
                 'WSGISocketPrefix "/run/x/wsgi"', 'TypesConfig "/m.types"', 'PidFile "/p.pid"'):
        assert line in text, line


def test_config_worker_sizing_as_mod_wsgi_express():
    # 10 + max(10, 1.5 x 1 x 5) = 20 clients: 2 children of 10
    text = config.render(options())
    assert "    ServerLimit             2\n" in text and "    ThreadsPerChild         10\n" in text
    assert "    MaxRequestWorkers       20\n" in text and "ThreadStackSize         262144" in text
    text = config.render(options(max_clients=100, initial_workers=0.5, minimum_spare_workers=0.25,
                                 maximum_spare_workers=0.75))
    # 100 clients: 100 / (100 // 20 + 1) = 16 a child, 7 children
    assert "    ThreadsPerChild         16\n" in text and "    ServerLimit             7\n" in text
    assert "    StartServers            3\n" in text and "    MinSpareThreads         16\n" in text
    assert "    MaxSpareThreads         80\n" in text
    text = config.render(options(mpm="prefork", max_clients=40))
    assert "LoadModule mpm_prefork_module" in text and "<IfModule mpm_prefork_module>" in text
    assert "    MaxRequestWorkers       40\n" in text and "    StartServers            2\n" in text
    assert "    MaxSpareServers         4\n" in text
    assert "LoadModule mpm_worker_module" in config.render(options(mpm="worker"))


def test_config_logs_as_mod_wsgi_express():
    text = config.render(options(log_directory="/var/log/site", error_log_name="err",
                                 access_log=True, access_log_name="acc", log_to_terminal=True,
                                 access_log_format='%h "%r" %>s', error_log_format="[%t] %M",
                                 rotate_logs=True, max_log_size=10))
    # --log-directory wins over --log-to-terminal
    assert 'ErrorLog "|/usr/bin/rotatelogs /var/log/site/err.%Y-%m-%d-%H_%M_%S 10M"' in text
    assert 'CustomLog "|/usr/bin/rotatelogs /var/log/site/acc.%Y-%m-%d-%H_%M_%S 10M" custom' in text
    assert 'LogFormat "%h \\"%r\\" %>s" custom' in text
    assert 'ErrorLogFormat "[%t] %M"' in text
    text = config.render(options(access_log=True, access_log_format="common"))
    assert 'CustomLog "/tmp/srvroot/logs/access.log" common' in text
    ctl = config.render_apachectl(options(startup_log=True, process_name="web (express)",
                                          shell_executable="/bin/bash", lang="C.UTF-8",
                                          locale="C.UTF-8"))
    assert ctl.startswith("#!/bin/bash\n")
    assert "HTTPD_ARGS='-E /tmp/srvroot/logs/startup.log'" in ctl
    assert 'exec -a "$PROCESS_NAME"' in ctl and "PROCESS_NAME='web (express)'" in ctl
    assert "LANG='C.UTF-8'\nLC_ALL='C.UTF-8'" in ctl
    assert ". '/tmp/srvroot/envvars'" in ctl
    assert config.render_envvars(options(envvars_script="/e.sh")).endswith(". '/e.sh'\n")


def test_config_document_root_layout():
    text = config.render(options(document_root="/srv/docs", directory_index="index.html",
                                 directory_listing=True, allow_override=["FileInfo", "Indexes"],
                                 rewrite_rules="/srv/rules.conf", mount_point="/app",
                                 with_cgi=True, handler_scripts=[(".res", "/srv/res.wsgi")],
                                 error_documents=[("404", "/404.html")], error_override=True))
    assert "WSGIScriptAlias" not in text
    assert 'DocumentRoot "/srv/docs"' in text
    assert ('<Directory "/srv/docs">\n    AllowOverride FileInfo Indexes\n    DirectoryIndex '
            'index.html\n    Options +Indexes\n    Options +ExecCGI\n    RewriteEngine On\n'
            '    RewriteOptions InheritDownBefore\n    Include "/srv/rules.conf"\n'
            '    Require all granted\n</Directory>') in text
    assert ('<Directory "/srv/docs/app">\n    RewriteCond %{REQUEST_FILENAME} !-f\n'
            '    RewriteCond %{REQUEST_FILENAME} !-d\n    RewriteRule .* - [H=wsgi-handler]') in text
    assert ('WSGIHandlerScript wsgi-handler "/tmp/srvroot/handler.wsgi" '
            'process-group=localhost:8000 application-group=%{GLOBAL}') in text
    assert 'WSGIHandlerScript wsgi-resource "/tmp/srvroot/resource.wsgi"' in text
    assert "AddHandler wsgi-resource .res" in text and "AddHandler cgi-script .cgi" in text
    for module in ("rewrite", "autoindex", "cgid"):
        assert f"LoadModule {module}_module" in text, module
    assert 'ErrorDocument 404 "/404.html"' in text and "WSGIErrorOverride On" in text
    source = handler.render_handler(options(document_root="/srv/docs", mount_point="/app"))
    assert "FALLBACK_MOUNT_POINT = '/app'" in source and "handle_request = application" in source
    resources = handler.render_resources(options(handler_scripts=[(".res", "/srv/res.wsgi")]))
    compile(resources, "resource.wsgi", "exec")
    assert "handle_request = application" in resources


def test_handler_fallback_puts_the_mount_point_back():
    namespace = {}
    source = handler.render_handler(options(document_root="/d", mount_point="/app"))
    exec(compile(source.split("# The watcher starts once")[0], "h", "exec"), namespace)
    seen = {}
    app = namespace["_fallback"](lambda environ, sr: seen.update(environ), "/app")
    app({"SCRIPT_NAME": "/app", "PATH_INFO": "/x/y"}, None)
    assert (seen["SCRIPT_NAME"], seen["PATH_INFO"]) == ("/app", "/x/y")
    app({"SCRIPT_NAME": "/app/x", "PATH_INFO": ""}, None)
    assert (seen["SCRIPT_NAME"], seen["PATH_INFO"]) == ("/app", "/x")


def test_config_virtual_hosts_and_https_as_mod_wsgi_express():
    text = config.render(options(
        server_name="www.example.com", server_aliases=["alt.example.com", "*.example.org"],
        https_port=8443, ssl_certificate_file="/c.crt", ssl_certificate_key_file="/c.key",
        ssl_ca_certificate_file="/ca.pem", ssl_certificate_chain_file="/chain.pem",
        ssl_verify_client_urls=["/secure"], ssl_environment=True, https_only=True,
        hsts_policy="max-age=31536000"))
    assert ("<VirtualHost _default_:8000>\n    ServerName _wsgi_\n    <Location />\n"
            "        Require all denied\n    </Location>\n</VirtualHost>") in text
    assert ("<VirtualHost *:8000>\n    ServerName www.example.com\n    ServerAlias alt.example.com "
            "*.example.org\n    RewriteEngine On\n    RewriteCond %{HTTPS} off\n"
            "    RewriteRule (.*) https://www.example.com:8443%{REQUEST_URI}\n</VirtualHost>") in text
    assert ("    ServerName example.com\n    Redirect permanent / https://www.example.com:8443/") in text
    assert "<VirtualHost _default_:8443>" in text
    assert 'SSLCACertificateFile "/ca.pem"\n    SSLVerifyClient none' in text
    assert 'SSLCertificateChainFile "/chain.pem"' in text
    assert 'Header set Strict-Transport-Security "max-age=31536000"' in text
    assert "SSLOptions +StdEnvVars" in text
    assert '<Location "/secure">\n    SSLVerifyClient require\n    SSLVerifyDepth 1' in text
    assert "LoadModule headers_module" in text and "LoadModule rewrite_module" in text
    local = config.render(options(server_name="example.com", allow_localhost=True))
    assert "        Require host localhost\n" in local and "Redirect" not in local


def test_config_auth_and_access_scripts():
    text = config.render(options(host_access_script="/a.py", auth_user_script="/u.py",
                                 auth_group_script="/g.py", auth_group="staff", auth_type="Digest"))
    assert '<Location />\n    WSGIAccessScript "/a.py"\n</Location>' in text
    for line in ("AuthType Digest", 'AuthName "localhost:8000"', "AuthDigestProvider wsgi",
                 'WSGIAuthUserScript "/u.py"', 'WSGIAuthGroupScript "/g.py"',
                 "        Require valid-user\n        Require wsgi-group \"staff\"",
                 "LoadModule auth_digest_module", "LoadModule authz_user_module"):
        assert line in text, line


def test_config_proxies_and_services():
    text = config.render(options(proxy_mount_points=[("/api", "http://127.0.0.1:9000/")],
                                 proxy_virtual_hosts=[("other.example.com", "http://127.0.0.1:9001")],
                                 proxy_timeout=30,
                                 service_scripts=[("tasks", "/srv/tasks.py"), ("log", "/srv/log.py")],
                                 service_users={"tasks": "nobody"}, service_log_files={"log": "log.txt"}))
    assert "ProxyTimeout 30" in text
    assert 'ProxyPass "/api/" "http://127.0.0.1:9000/" upgrade=websocket' in text
    assert "RequestHeader set X-Forwarded-Prefix /api" in text
    assert '<LocationMatch "^/api$">' in text
    assert "<VirtualHost *:8000>\n    ServerName other.example.com" in text
    # the main server stays the default virtual host of the port
    assert text.index("<VirtualHost _default_:8000>") < text.index("ServerName other.example.com")
    assert "LoadModule proxy_http_module" in text
    assert "WSGIDaemonProcess service:tasks \\\n    display-name=%{GROUP} \\\n    user=nobody" in text
    assert "    threads=0 \\" in text
    assert ('WSGIImportScript "/srv/tasks.py" process-group=service:tasks '
            'application-group=%{GLOBAL}') in text
    assert 'ErrorLog "/tmp/srvroot/logs/log.txt"\n    WSGIDaemonProcess service:log' in text


def test_config_telemetry_as_mod_wsgi_express():
    text = config.render(options(telemetry_target="unix:/run/t.sock", telemetry_interval=2.0,
                                 slow_requests=1.5, telemetry_options=["+CaptureUserAgent"]))
    assert "WSGITelemetryService unix:/run/t.sock interval=2.0\nWSGISlowRequests 1.5\n" \
           "WSGITelemetryOptions +CaptureUserAgent" in text


def test_every_mod_wsgi_express_flag_is_supported_or_refused_with_a_reason():
    express_options = pytest.importorskip("mod_wsgi.express.options")
    _, commands = cli.build_parser()
    ours = set(commands["start-server"].long_options())
    names = [o._long_opts[0] for o in express_options.option_list]
    assert len(names) >= 150
    for name in names:
        assert name in ours or cli.MOD_WSGI_EXPRESS_ONLY.get(name), name
    table = (EXPRESS / "FLAGS.md").read_text()
    for name in names + list(cli.COMMANDS):
        assert f"`{name}`" in table, name


@pytest.mark.parametrize("argv, message", [
    (["--ssl-port", "8443", "--ssl-certificate", "/nonexistent/site"],
     "--ssl-certificate-file /nonexistent/site.crt: no such file"),
    (["--https-only"], "--https-only needs --https-port"),
    (["--header-buffer-size", "100"], "--header-buffer-size must be 0 or at least 8192"),
    (["--reload-on-changes", "--disable-reloading"], "--disable-reloading"),
    (["--auth-group-script", __file__], "--auth-group-script needs --auth-user-script"),
    (["--error-document", "abc", "/x"], "--error-document abc: not an HTTP status"),
    (["--telemetry-service", "udp:1.2.3.4:9"], "--telemetry-service must be 'unix:/path'"),
    (["--slow-requests", "2"], "--slow-requests requires --telemetry-service"),
    (["--slow-requests", "-1", "--telemetry-service", "unix:/tmp/t.sock"], "--slow-requests threshold must be non-negative"),
    (["--enable-telemetry", "--telemetry-service", "unix:/tmp/t.sock"], "--enable-telemetry and --telemetry-service are mutually exclusive"),
])
def test_new_flag_errors(argv, message, tmp_path, monkeypatch):
    (tmp_path / "app.wsgi").write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MOD_WSGI_RS_SO", str(harness.module_so_path()))
    _, commands = cli.build_parser()
    with pytest.raises(cli.server_root.SetupError) as e:
        cli.resolve(commands["setup-server"].parse_args(["app.wsgi", *argv]))
    assert message in str(e.value)


def test_entry_point_and_aliases_of_mod_wsgi_express(tmp_path, monkeypatch):
    (tmp_path / "app.wsgi").write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MOD_WSGI_RS_SO", str(harness.module_so_path()))
    _, commands = cli.build_parser()
    o = cli.resolve(commands["setup-server"].parse_args(
        ["--entry-point", "app.wsgi", "--proxy-url-alias", "/a", "http://x/", "--lang", "C.UTF-8"]))
    assert o.app == str(tmp_path / "app.wsgi")
    assert o.proxy_mount_points == [("/a", "http://x/")]
    assert o.locale == o.lang == "C.UTF-8"


# --------------------------------------------------------------------------- CLI + Apache

def cli_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(EXPRESS)
    env["MOD_WSGI_RS_SO"] = str(harness.module_so_path())
    return env


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mod_wsgi_rs", *map(str, args)], env=cli_env(),
                          cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=60)


@pytest.fixture(scope="session", autouse=True)
def _module_built():
    if not harness.module_so_path().exists():
        pytest.fail(f"{harness.module_so_path()} not found: run `make build` first")


@pytest.fixture
def workdir():
    """A world-readable temp dir (Apache's children run as www-data) with the test apps."""
    d = Path(tempfile.mkdtemp(prefix="mod_wsgi_rs-express-", dir="/tmp"))
    try:
        (d / "app").mkdir()
        (d / "app" / "app.wsgi").write_text(APP)
        (d / "app" / "express_msg.py").write_text('MESSAGE = "v1"\n')
        pkg = d / "app" / "express_pkg"
        pkg.mkdir()
        (pkg / "__init__.py").write_text("")
        (pkg / "web.py").write_text(MODULE_APP)
        (d / "static").mkdir()
        (d / "static" / "hello.txt").write_text("static file\n")
        harness.apache.make_world_readable(d)
        yield d
    finally:
        if not os.environ.get("MOD_WSGI_RS_KEEP"):
            shutil.rmtree(d, ignore_errors=True)


def _descendants(pid):
    """pid and every process below it."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            ppid = harness.apache._proc_ppid(int(entry))
            if ppid is not None:
                children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += children.get(p, [])
    return found


def _alive(pid):
    state = harness.apache._proc_state(pid)
    return state is not None and state != "Z"


def _kill_leftovers(pids, timeout=10):
    """Wait for pids to go; SIGKILL those that do not. Returns the ones killed."""
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    killed = []
    for p in pids:
        if _alive(p):
            try:
                os.kill(p, signal.SIGKILL)
                killed.append((p, harness.apache._proc_cmdline(p)))
            except ProcessLookupError:
                pass
    return killed


class Server:
    """An Apache set up by the CLI; stopped (and any leftover killed) by stop()."""

    def __init__(self, root, port, proc=None, https_port=None):
        self.root, self.port, self.proc, self.https_port = Path(root), port, proc, https_port
        self.url = f"http://127.0.0.1:{port}"

    def parent_pid(self):
        if self.proc is not None:
            return self.proc.pid
        try:
            return int((self.root / "httpd.pid").read_text())
        except (OSError, ValueError):
            return None

    def wait_ready(self, path="/", timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                break
            try:
                if requests.get(self.url + path, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        out = self.proc.stdout.read() if self.proc is not None and self.proc.poll() is not None else ""
        raise AssertionError(f"server on {self.port} not ready:\n{out}\n{self.error_log()}")

    def error_log(self):
        try:
            return (self.root / "logs" / "error.log").read_text(errors="replace")
        except OSError:
            return "(no error log)"

    def stop(self):
        pid = self.parent_pid()
        pids = _descendants(pid) if pid else []
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)  # start-server: Apache in the foreground
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        elif (self.root / "apachectl").exists():
            subprocess.run([str(self.root / "apachectl"), "stop"], timeout=30,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        killed = _kill_leftovers(pids)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None:
            self.proc.stdout.close()
        log = self.error_log()
        assert not harness.apache.CRASH_PATTERNS.search(log), log
        assert not killed, f"still running after stop, killed: {killed}"


@pytest.fixture
def servers(workdir):
    """Servers to stop at the end (before workdir, which holds their roots, is removed)."""
    started = []
    yield started
    errors = []
    for srv in started:
        try:
            srv.stop()
        except Exception as e:  # stop the others anyway
            errors.append(repr(e))
    assert not errors, errors


@pytest.fixture
def start_server(servers, workdir):
    """start_server(app, *flags) -> Server: `start-server` in the foreground, ready."""
    def start(app, *flags, https_port=None, ready_path="/"):
        port = harness.free_port()
        root = workdir / f"root-{port}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "mod_wsgi_rs", "start-server", str(app), "--port", str(port),
             "--server-root", str(root), "--working-directory", str(workdir / "app"),
             *map(str, flags)],
            env=cli_env(), cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        srv = Server(root, port, proc, https_port)
        servers.append(srv)
        srv.wait_ready(ready_path)
        return srv
    return start


def body(srv, path="/"):
    r = requests.get(srv.url + path, timeout=10)
    assert r.status_code == 200, (r.status_code, r.text, srv.error_log()[-3000:])
    return r.text


def test_start_server_daemon_mode_setenv_and_url_alias(start_server, workdir):
    srv = start_server(workdir / "app" / "app.wsgi",
                       "--setenv", "EXPRESS_SETENV", "set by express",
                       "--url-alias", "/static", workdir / "static",
                       "--processes", "2", "--threads", "3")
    assert body(srv, "/x/y") == f"v1||/x/y|localhost:{srv.port}|set by express|http"
    assert body(srv, "/static/hello.txt") == "static file\n"  # by Apache, not the app
    conf = (srv.root / "httpd.conf").read_text()
    assert f"WSGIDaemonProcess localhost:{srv.port}" in conf
    assert "processes=2" in conf and "threads=3" in conf
    # the daemon processes carry mod_wsgi-express's display name
    names = [harness.apache._proc_cmdline(p) for p in _descendants(srv.proc.pid)]
    assert sum(f"(wsgi:localhost:{srv.port}:" in n for n in names) == 2, names


def test_setup_server_apachectl_embedded_mode(servers, workdir):
    port = harness.free_port()
    root = workdir / "root"
    res = run_cli("setup-server", workdir / "app" / "app.wsgi", "--port", port,
                  "--server-root", root, "--embedded-mode", "--mount-point", "/site",
                  "--working-directory", workdir / "app", cwd=workdir)
    assert res.returncode == 0, res.stdout
    assert f"{root}/apachectl start" in res.stdout
    ctl = root / "apachectl"
    assert os.access(ctl, os.X_OK)
    check = subprocess.run([ctl, "configtest"], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0 and "Syntax OK" in check.stderr, check.stderr
    srv = Server(root, port)
    servers.append(srv)
    start = subprocess.run([ctl, "start"], capture_output=True, text=True, timeout=30)
    assert start.returncode == 0, start.stderr
    srv.wait_ready("/site/")
    # embedded: no process group; SCRIPT_NAME is the mount point
    assert body(srv, "/site/a") == "v1|/site|/a|||http"
    pid = srv.parent_pid()
    assert not any("(wsgi:" in harness.apache._proc_cmdline(p) for p in _descendants(pid))
    stop = subprocess.run([ctl, "stop"], capture_output=True, text=True, timeout=30)
    assert stop.returncode == 0, stop.stderr
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)
    with pytest.raises(requests.ConnectionError):
        requests.get(srv.url + "/site/", timeout=2)


def test_application_type_module(start_server, workdir):
    srv = start_server("express_pkg.web", "--application-type", "module",
                       "--callable-object", "wsgi_app", "--mount-point", "/mod",
                       ready_path="/mod/")
    assert body(srv, "/mod/p") == "module app|/mod|/p"
    handler_text = (srv.root / "handler.wsgi").read_text()
    assert "ENTRY_POINT = 'express_pkg.web'" in handler_text


def test_reload_on_changes_without_failed_requests(start_server, workdir):
    srv = start_server(workdir / "app" / "app.wsgi", "--reload-on-changes", "--log-level", "info")
    assert body(srv).startswith("v1|")
    handler_file = srv.root / "handler.wsgi"
    if os.geteuid() == 0:  # the watcher (as www-data) sets its mtime: it owns it
        import pwd
        assert pwd.getpwuid(handler_file.stat().st_uid).pw_name == "www-data"

    failures, seen, stop = [], [], threading.Event()

    def client():
        s = requests.Session()
        while not stop.is_set():
            try:
                r = s.get(srv.url + "/", timeout=10)
                if r.status_code != 200:
                    failures.append(r.status_code)
                else:
                    seen.append(r.text.split("|")[0])
            except requests.RequestException as e:
                failures.append(repr(e))

    threads = [threading.Thread(target=client) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.2)  # the watcher's baseline scan is done
        (workdir / "app" / "express_msg.py").write_text('MESSAGE = "v2"\n')
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (not seen or seen[-1] != "v2"):
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert seen and seen[-1] == "v2", (seen[-5:], srv.error_log()[-3000:])
    assert not failures, failures
    # once v2 was served, never v1 again
    assert "v1" not in seen[seen.index("v2"):]
    assert "express_msg.py' changed; touched" in srv.error_log()


@pytest.fixture(scope="module")
def certificate():
    d = Path(tempfile.mkdtemp(prefix="mod_wsgi_rs-express-cert-", dir="/tmp"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-subj", "/CN=localhost", "-days", "1", "-keyout", str(d / "key.pem"),
                    "-out", str(d / "cert.pem")], check=True, capture_output=True, timeout=60)
    harness.apache.make_world_readable(d)
    yield d / "cert.pem", d / "key.pem"
    shutil.rmtree(d, ignore_errors=True)


def test_https_port_status_and_compression(start_server, workdir, certificate):
    cert, key = certificate
    https_port = harness.free_port()
    srv = start_server(workdir / "app" / "app.wsgi", "--https-port", https_port,
                       "--ssl-certificate-file", cert, "--ssl-certificate-key-file", key,
                       "--server-status", "--compress-responses", "--http2",
                       "--trust-proxy-header", "X-Forwarded-Proto", "--trust-proxy", "127.0.0.1")
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    r = requests.get(f"https://127.0.0.1:{https_port}/s", verify=False, timeout=10)
    assert r.status_code == 200 and r.text == f"v1||/s|localhost:{srv.port}||https", r.text
    # a trusted proxy's X-Forwarded-Proto sets the scheme
    r = requests.get(srv.url + "/", headers={"X-Forwarded-Proto": "https"}, timeout=10)
    assert r.text.endswith("|https"), r.text
    if shutil.which("curl"):  # --http2: h2c with prior knowledge (requests speaks only 1.1)
        out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_version}",
                              "--http2-prior-knowledge", srv.url + "/"],
                             capture_output=True, text=True, timeout=30)
        assert out.stdout == "2", (out.stdout, out.stderr)
    r = requests.get(srv.url + "/server-status?auto", timeout=10)
    assert r.status_code == 200 and "ServerUptime" in r.text, r.text[:300]
    # (mod_deflate leaves responses of a few bytes alone: ask for a longer one)
    long_path = "/" + "x" * 300
    raw = requests.get(srv.url + long_path, headers={"Accept-Encoding": "gzip"}, timeout=10,
                       stream=True)
    assert raw.headers.get("Content-Encoding") == "gzip", raw.headers
    assert gzip.decompress(raw.raw.read()).decode().startswith(f"v1||{long_path}|")


def test_https_without_certificate_files_is_refused(workdir):
    res = run_cli("setup-server", workdir / "app" / "app.wsgi", "--https-port", "8443",
                  "--ssl-certificate-file", workdir / "missing.pem",
                  "--server-root", workdir / "r", cwd=workdir)
    assert res.returncode == 2
    assert "missing.pem: no such file" in res.stdout
    assert "--https-port needs --ssl-certificate-key-file" in res.stdout


def test_mistyped_flag_from_the_command_line(workdir):
    res = run_cli("start-server", workdir / "app" / "app.wsgi", "--prot", "9000")
    assert res.returncode == 2
    assert "unknown option --prot; did you mean --port?" in res.stdout


def test_module_location_and_module_config_loads_in_apache(workdir):
    so = str(harness.module_so_path())
    res = run_cli("module-location")
    assert res.returncode == 0 and res.stdout.strip() == so
    res = run_cli("module-config")
    assert res.returncode == 0
    assert res.stdout.splitlines() == [f'LoadModule wsgi_module "{so}"',
                                       f'WSGIPythonHome "{PYTHON_HOME}"']
    # as a user pastes it into a system-style config
    d = workdir
    conf = d / "system.conf"
    mods = config.MODULES_DIR
    conf.write_text(f"""\
ServerRoot "{d}"
DefaultRuntimeDir "{d}"
PidFile "{d}/apache2.pid"
Listen 127.0.0.1:{harness.free_port()}
ServerName localhost
User www-data
Group www-data
ErrorLog "{d}/error.log"
LoadModule mpm_event_module {mods}/mod_mpm_event.so
LoadModule authz_core_module {mods}/mod_authz_core.so
{res.stdout}
WSGIScriptAlias / "{d}/app/app.wsgi"
<Directory "{d}/app">
    Require all granted
</Directory>
""")
    check = subprocess.run([config.HTTPD, "-t", "-f", str(conf)], capture_output=True,
                           text=True, timeout=30, env=harness.apache.APACHE_ENV)
    assert check.returncode == 0 and "Syntax OK" in check.stderr, check.stderr


def test_install_module(workdir):
    target_dir = workdir / "modules"
    target_dir.mkdir()
    res = run_cli("install-module", "--modules-directory", target_dir)
    assert res.returncode == 0, res.stdout
    name = f"mod_wsgi_rs-py{sys.version_info[0]}{sys.version_info[1]}.so"
    installed = target_dir / name
    assert installed.read_bytes() == harness.module_so_path().read_bytes()
    assert res.stdout.splitlines() == [f'LoadModule wsgi_module "{installed}"',
                                       f'WSGIPythonHome "{PYTHON_HOME}"']


def test_paste_without_pastedeploy_is_refused_clearly(workdir):
    try:
        import paste.deploy  # noqa: F401
        pytest.skip("PasteDeploy is installed")
    except ImportError:
        pass
    ini = workdir / "app" / "site.ini"
    ini.write_text("[app:main]\nuse = egg:nothing\n")
    res = run_cli("setup-server", ini, "--application-type", "paste",
                  "--server-root", workdir / "r")
    assert res.returncode == 2
    assert "--application-type paste needs PasteDeploy: pip install PasteDeploy" in res.stdout


def test_no_module_is_a_clear_error():
    if list((EXPRESS / "mod_wsgi_rs" / "server").glob("mod_wsgi_rs*.so")):
        pytest.skip("a module is installed next to the package")
    env = cli_env()
    del env["MOD_WSGI_RS_SO"]
    res = subprocess.run([sys.executable, "-m", "mod_wsgi_rs", "module-location"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1
    assert "no Apache module (mod_wsgi_rs*.so)" in res.stderr and "MOD_WSGI_RS_SO" in res.stderr


def test_setup_server_with_many_mod_wsgi_express_flags_passes_configtest(workdir, certificate):
    cert, key = certificate
    d = workdir
    for name, text in [("access.py", "def allow_access(environ, host):\n    return True\n"),
                       ("auth.py", "def check_password(environ, user, password):\n    return True\n"),
                       ("groups.py", "def groups_for_user(environ, user):\n    return ['wsgi']\n"),
                       ("rules.conf", ""), ("envvars.sh", "export FROM_ENVVARS=1\n"),
                       ("service.py", "")]:
        (d / name).write_text(text)
    harness.apache.make_world_readable(d)
    root = d / "root"
    res = run_cli(
        "setup-server", d / "app" / "app.wsgi", "--port", harness.free_port(), "--server-root", root,
        "--working-directory", d / "app", "--document-root", d / "static",
        "--directory-index", "index.html", "--directory-listing", "--allow-override", "FileInfo",
        "--rewrite-rules", d / "rules.conf", "--error-document", "404", "/hello.txt",
        "--error-override", "--with-cgi", "--add-handler", ".res", d / "app" / "app.wsgi",
        "--server-name", "www.example.com", "--server-alias", "alt.example.com",
        "--allow-localhost", "--ssl-port", harness.free_port(), "--ssl-certificate-file", cert,
        "--ssl-certificate-key-file", key, "--ssl-ca-certificate-file", cert,
        "--ssl-verify-client", "/secure", "--ssl-certificate-chain-file", cert,
        "--ssl-environment", "--https-only", "--hsts-policy", "max-age=60",
        "--server-mpm", "worker", "--max-clients", "40", "--initial-workers", "0.5",
        "--startup-timeout", "20", "--deadlock-timeout", "30", "--inactivity-timeout", "100",
        "--ignore-activity", "/health", "--connect-timeout", "10", "--socket-timeout", "30",
        "--header-buffer-size", "16384", "--response-buffer-size", "131072",
        "--switch-interval", "0.01", "--python-warnings", "ignore", "--server-metrics",
        "--server-status", "--map-head-to-get", "Off", "--chunked-request", "--enable-sendfile",
        "--orphan-interpreter", "--process-group", "web", "--application-group", "app",
        "--keep-alive-timeout", "0", "--limit-request-body", "1000",
        "--proxy-mount-point", "/proxy", "http://127.0.0.1:9/",
        "--proxy-virtual-host", "proxied.example.com", "http://127.0.0.1:9",
        "--proxy-timeout", "5", "--host-access-script", d / "access.py",
        "--auth-user-script", d / "auth.py", "--auth-group-script", d / "groups.py",
        "--passenv", "HOME", "--access-log", "--access-log-format", '%h "%r"',
        "--error-log-format", "[%t] %M", "--rotate-logs", "--startup-log",
        "--service-script", "svc", d / "service.py", "--service-log-file", "svc", "svc.log",
        "--envvars-script", d / "envvars.sh", "--process-name", "web-httpd", "--locale", "C.UTF-8",
        "--python-eggs", d / "eggs", "--pid-file", d / "root" / "other.pid",
        "--header-timeout", "10", "--body-timeout", "20", "--body-min-rate", "100", cwd=d)
    assert res.returncode == 0, res.stdout
    check = subprocess.run([root / "apachectl", "configtest"], capture_output=True, text=True,
                           timeout=30)
    assert check.returncode == 0 and "Syntax OK" in check.stderr, check.stderr
    conf = (root / "httpd.conf").read_text()
    assert "LoadModule mpm_worker_module" in conf and "WSGIDaemonProcess web" in conf
    assert (root / "resource.wsgi").exists() and (d / "eggs").is_dir()
    assert (root / "envvars").read_text().endswith(f". '{d}/envvars.sh'\n")


def test_document_root_directory_index_error_document_and_daemon_timeouts(start_server, workdir):
    docs = workdir / "static"
    (docs / "index.html").write_text("the index\n")
    (docs / "missing.html").write_text("no such page\n")
    harness.apache.make_world_readable(docs)
    srv = start_server(workdir / "app" / "app.wsgi", "--document-root", docs,
                       "--directory-index", "index.html", "--mount-point", "/app",
                       "--error-document", "404", "/missing.html",
                       "--startup-timeout", "20", "--deadlock-timeout", "30",
                       "--inactivity-timeout", "300", "--connect-timeout", "10",
                       "--socket-timeout", "30", "--shutdown-timeout", "3",
                       "--restart-interval", "3600", "--eviction-timeout", "5",
                       "--header-buffer-size", "16384", "--daemon-backlog", "50",
                       "--process-group", "site", "--server-metrics", ready_path="/app/ready")
    assert body(srv, "/") == "the index\n"              # the directory index, by Apache
    assert body(srv, "/hello.txt") == "static file\n"   # a file of the document root
    # no file there: the application, with SCRIPT_NAME the mount point
    assert body(srv, "/app/x/y") == "v1|/app|/x/y|site||http"
    r = requests.get(srv.url + "/nothing-here", timeout=10)  # outside the mount point
    assert r.status_code == 404 and r.text == "no such page\n"
    conf = (srv.root / "httpd.conf").read_text()
    assert "deadlock-timeout=30" in conf and "WSGIHandlerScript wsgi-handler" in conf
    names = [harness.apache._proc_cmdline(p) for p in _descendants(srv.proc.pid)]
    assert any("(wsgi:site)" in n for n in names), names


def test_start_server_setup_only_writes_the_root_and_exits(workdir):
    root = workdir / "root"
    res = run_cli("start-server", workdir / "app" / "app.wsgi", "--setup-only",
                  "--server-root", root, "--port", harness.free_port(), cwd=workdir)
    assert res.returncode == 0, res.stdout
    assert (root / "httpd.conf").exists() and not (root / "httpd.pid").exists()


def test_enable_telemetry_runs_the_receiver_and_its_ui_shows_our_process(start_server, workdir):
    ui = harness.free_port()
    srv = start_server(workdir / "app" / "app.wsgi", "--enable-telemetry", "--telemetry-ui-port", ui,
                       "--slow-requests", "5")
    for _ in range(3):
        body(srv, "/")
    deadline = time.time() + 20
    while True:
        try:
            state = requests.get(f"http://127.0.0.1:{ui}/api/state", timeout=5).json()
        except (requests.ConnectionError, ValueError):
            state = {"processes": []}
        groups = {p["process_group"] for p in state["processes"]}
        if f"localhost:{srv.port}" in groups:
            break
        assert time.time() < deadline, (state, srv.error_log()[-3000:])
        time.sleep(0.5)
    # the receiver's own service process (threads=0) does not report to itself
    assert groups == {f"localhost:{srv.port}"}, groups
