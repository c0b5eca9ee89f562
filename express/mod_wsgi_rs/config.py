"""Options -> httpd.conf text. Pure: no file system, no Apache; unit-tested on its own.

The text is meant to be kept: a user may copy the ServerRoot's httpd.conf into their own
setup and edit it, so every section says what it is for, and only what is needed is written
(no <IfDefine> maze as in mod_wsgi-express's template). What each flag writes is what
mod_wsgi-express 6 writes for it; sites.py has the virtual hosts, document root and proxies,
control.py the apachectl script, options.py the ServerOptions it all reads.
"""

import math
import os

from . import sites
from .conftext import (block, continued, format_quote, listen_address, load, option,  # noqa: F401
                       quote, section)
from .control import render_apachectl, render_envvars, sh_quote  # noqa: F401
from .flags import HTTPD, MIME_TYPES, MODULES_DIR  # noqa: F401
from .options import HANDLER_NAME, RELOADER_NAME, RESOURCE_NAME, ServerOptions  # noqa: F401

# Types --compress-responses compresses (mod_wsgi-express's list).
COMPRESSED_TYPES = [
    "text/plain", "text/html", "text/xml", "text/css", "text/javascript",
    "application/xhtml+xml", "application/javascript", "application/json",
]


def _workers(o):
    """mod_wsgi-express's worker sizing: (ServerLimit, ThreadsPerChild, MaxRequestWorkers,
    StartServers, MinSpareThreads, MaxSpareThreads) for event/worker, or the prefork
    (MaxRequestWorkers, StartServers, MinSpareServers, MaxSpareServers)."""
    clients = o.process_count * o.threads
    if o.max_clients is not None:
        clients = max(o.max_clients, clients)
    else:
        clients = 10 + max(10, int(1.5 * clients))
    if o.mpm == "prefork":
        initial = 0.05 if o.initial_workers is None else o.initial_workers
        low = initial if o.minimum_spare_workers is None else o.minimum_spare_workers
        high = 0.1 if o.maximum_spare_workers is None else o.maximum_spare_workers
        return (clients, max(1, int(initial * clients)), max(1, int(low * clients)),
                max(1, int(high * clients)))
    initial = 0.2 if o.initial_workers is None else o.initial_workers
    low = initial if o.minimum_spare_workers is None else o.minimum_spare_workers
    high = 0.6 if o.maximum_spare_workers is None else o.maximum_spare_workers
    per_child = int(clients / (int(clients / 20) + 1)) if clients > 20 else 10
    limit = math.ceil(clients / per_child)
    return (limit, per_child, limit * per_child, max(1, int(initial * limit)),
            max(per_child, int(low * limit) * per_child),
            max(per_child, int(high * limit) * per_child))


def _mpm(o):
    """Worker sizing. Embedded mode: Apache's children are the application's processes,
    so they are sized by --processes/--threads. Daemon mode: the children only pass requests
    on; mod_wsgi-express's rule sizes them (--max-clients, --*-workers)."""
    tag = f"<IfModule mpm_{o.mpm}_module>"
    if o.mpm == "prefork":
        if o.embedded_mode:
            n = o.process_count * o.threads
            clients, start, low, high = n, n, n, n
        else:
            clients, start, low, high = _workers(o)
        return [f"# prefork: one request per Apache child.", *block(tag, [
            f"ServerLimit             {clients}",
            f"StartServers            {start}",
            f"MaxRequestWorkers       {clients}",
            f"MinSpareServers         {low}",
            f"MaxSpareServers         {high}",
            f"MaxConnectionsPerChild  {o.maximum_requests if o.embedded_mode else 0}",
            f"MaxKeepAliveRequests    {100 if o.embedded_mode else 500}",
        ])]
    if o.embedded_mode:
        procs, per_child = o.process_count, o.threads
        workers = procs * per_child
        return [
            "# Embedded mode: each Apache child is one application process with --threads threads.",
            *block(tag, [
                f"StartServers            {procs}",
                f"ServerLimit             {procs}",
                f"ThreadLimit             {per_child}",
                f"ThreadsPerChild         {per_child}",
                f"MaxRequestWorkers       {workers}",
                f"MinSpareThreads         {per_child}",
                f"MaxSpareThreads         {workers + per_child}",
                # --maximum-requests recycles a child after that many connections (0: never).
                f"MaxConnectionsPerChild  {o.maximum_requests}",
                f"MaxKeepAliveRequests    {0 if o.mpm == 'event' else 100}",
            ]),
        ]
    limit, per_child, clients, start, low, high = _workers(o)
    return [
        "# Daemon mode: Apache's children only proxy to the daemon processes (they run no",
        "# Python, so a small thread stack will do).",
        *block(tag, [
            f"StartServers            {start}",
            f"ServerLimit             {limit}",
            f"ThreadLimit             {per_child}",
            f"ThreadsPerChild         {per_child}",
            f"MaxRequestWorkers       {clients}",
            f"MinSpareThreads         {low}",
            f"MaxSpareThreads         {high}",
            "MaxConnectionsPerChild  0",
            f"MaxKeepAliveRequests    {0 if o.mpm == 'event' else 500}",
            "ThreadStackSize         262144",
        ]),
    ]


def _modules(o):
    lines = [
        o.load(f"mpm_{o.mpm}"),
        o.load("authz_core"),
        o.load("authz_host"),   # Require local / ip / host
        o.load("mime"),
        o.load("alias"),        # --url-alias
        o.load("dir"),
        o.load("env"),          # --setenv, --passenv
        o.load("reqtimeout"),   # RequestReadTimeout
    ]
    if o.static_files or o.https_only or o.proxy_mount_points or o.proxy_virtual_hosts:
        lines.append(o.load("rewrite"))
    if o.hsts_policy or o.proxy_mount_points or o.proxy_virtual_hosts:
        lines.append(o.load("headers"))
    if o.directory_listing:
        lines.append(o.load("autoindex"))
    if o.with_cgi:
        lines.append(o.load("cgid" if o.cgid else "cgi"))
    if o.auth_user_script:
        lines += [o.load("authn_core"), o.load("auth_basic"), o.load("auth_digest"),
                  o.load("authz_user")]
    if o.proxy_mount_points or o.proxy_virtual_hosts:
        lines += [o.load("proxy"), o.load("proxy_http")]
    if o.compress_responses:
        lines += [o.load("filter"), o.load("deflate")]
    if o.https_port:
        lines += [o.load("socache_shmcb"), o.load("ssl")]
    if o.http2:
        lines.append(o.load("http2"))
    if o.server_status or o.server_metrics:
        lines.append(o.load("status"))
    return lines


def _daemon_process(o):
    opts = [
        option("display-name", o.display_name),
        option("python-home", o.python_home),
        option("home", o.working_directory),
        # processes= only when asked for: with it mod_wsgi says wsgi.multiprocess=True
        # even for processes=1 (mod_wsgi-express does the same).
        *([option("processes", o.processes)] if o.processes else []),
        option("threads", o.threads),
        option("maximum-requests", o.maximum_requests),
        option("python-path", ":".join(o.sys_path)),
        option("python-eggs", o.eggs_dir),
        *([option("lang", o.lang)] if o.lang else []),
        *([option("locale", o.locale)] if o.locale else []),
        option("listen-backlog", o.daemon_backlog),
    ]
    for name in ("queue-timeout", "socket-timeout", "connect-timeout", "request-timeout",
                 "interrupt-timeout", "inactivity-timeout", "startup-timeout",
                 "deadlock-timeout", "graceful-timeout", "eviction-timeout",
                 "restart-interval", "cpu-time-limit", "shutdown-timeout",
                 "send-buffer-size", "receive-buffer-size", "header-buffer-size",
                 "response-buffer-size", "response-socket-timeout", "response-flush-delay"):
        opts.append(option(name, getattr(o, name.replace("-", "_"))))
    opts.append(option("server-metrics", "On" if o.server_metrics else "Off"))
    if o.switch_interval is not None:
        opts.append(option("switch-interval", o.switch_interval))
    return continued(f"WSGIDaemonProcess {quote_group(o.process_group)}", opts)


def _services(o):
    if not o.service_scripts:
        return []
    lines = section("--service-script: scripts run in processes of their own (threads=0)")
    for name, script in o.service_scripts:
        group = f"service:{name}"
        opts = [option("display-name", "%{GROUP}"),
                option("user", o.service_users.get(name, o.user)),
                option("group", o.service_groups.get(name, o.group)),
                option("python-home", o.python_home), option("home", o.working_directory),
                "threads=0", option("python-path", ":".join(o.sys_path)),
                option("python-eggs", o.eggs_dir),
                *([option("lang", o.lang)] if o.lang else []),
                *([option("locale", o.locale)] if o.locale else []),
                option("server-metrics", "On" if o.server_metrics else "Off")]
        body = [*continued(f"WSGIDaemonProcess {quote_group(group)}", opts),
                f"WSGIImportScript {quote(script)} process-group={quote_group(group)} "
                "application-group=%{GLOBAL}"]
        if name in o.service_log_files:
            log = os.path.join(o.logs_dir, o.service_log_files[name])
            lines += block(f"<VirtualHost *:{o.port}>", [f"ErrorLog {_log_target(o, log)}", *body])
        else:
            lines += body
    return lines


def _telemetry(o):
    if not o.telemetry_target:
        return []
    lines = section("telemetry: mod_wsgi 6's datagrams, read by mod-wsgi-telemetry (dump, serve)")
    lines.append(f"WSGITelemetryService {o.telemetry_target} interval={o.telemetry_interval}")
    if o.slow_requests is not None:
        lines.append(f"WSGISlowRequests {o.slow_requests}")
    lines += [f"WSGITelemetryOptions {args}" for args in o.telemetry_options]
    return lines


def render_telemetry_service(o):
    """--enable-telemetry's service script: the receiver, listening on the processes' socket."""
    sock = o.telemetry_target[len("unix:"):]
    return ("# mod-wsgi-telemetry's receiver, run by mod_wsgi_rs-express --enable-telemetry as the\n"
            "# service 'telemetry' (a threads=0 daemon process, which sends no telemetry itself).\n"
            "from mod_wsgi.telemetry.server import main\n\n"
            f"main(['--listen', {('unix:' + sock)!r}, '--http-host', '127.0.0.1', "
            f"'--http-port', '{o.telemetry_ui_port}', '--log-level', 'INFO'])\n")


def _handler_line(o, kind, path, group_opts):
    return f"WSGIHandlerScript {kind} {quote(path)} {group_opts}"


def _wsgi(o):
    lines = section(
        "mod_wsgi_rs (the wsgi_module)",
        f"LoadModule wsgi_module {quote(o.module_so)}",
        "# The Python (virtualenv) that runs the application: the one that ran mod_wsgi_rs-express.",
        f"WSGIPythonHome {quote(o.python_home)}",
        f"WSGISocketPrefix {quote(os.path.join(o.socket_prefix or o.server_root, 'wsgi'))}",
        "# Authorization headers reach the application (as mod_wsgi-express).",
        "WSGIPassAuthorization On",
        f"WSGIMapHEADToGET {o.map_head_to_get}",
    )
    for flag, directive in [(o.disable_reloading, "WSGIScriptReloading Off"),
                            (o.chunked_request, "WSGIChunkedRequest On"),
                            (o.orphan_interpreter, "WSGIDestroyInterpreter Off"),
                            (o.verbose_debugging, "WSGIVerboseDebugging On"),
                            (o.server_metrics, "WSGIServerMetrics On"),
                            (o.enable_sendfile, "EnableSendfile On"),
                            (o.enable_sendfile, "WSGIEnableSendfile On")]:
        if flag:
            lines.append(directive)
    if o.switch_interval is not None:
        lines.append(f"WSGISwitchInterval {o.switch_interval}")
    lines += [f"WSGIPythonWarnings {quote(spec)}" for spec in o.python_warnings]
    if o.trust_proxy_headers:
        lines.append("# Headers set by a trusted front-end proxy that rewrite REMOTE_ADDR, wsgi.url_scheme, ...")
        lines.append("WSGITrustedProxyHeaders " + " ".join(o.trust_proxy_headers))
    if o.trust_proxies:
        lines.append("# Only these proxies are trusted to set them.")
        lines.append("WSGITrustedProxies " + " ".join(o.trust_proxies))

    if o.embedded_mode:
        lines += section(
            "the application, in embedded mode (inside Apache's children)",
            "WSGIPythonPath " + quote(":".join(o.sys_path)),
            "WSGIProcessGroup %{GLOBAL}",
        )
        group_opts = f"process-group=%{{GLOBAL}} application-group={quote_group(o.app_group)}"
    else:
        lines += section(
            "the application, in daemon mode (its own processes, run as User/Group)",
            "# Apache's children never run Python themselves.",
            "WSGIRestrictEmbedded On",
            *_daemon_process(o),
            f"WSGIProcessGroup {quote_group(o.process_group)}",
        )
        group_opts = (f"process-group={quote_group(o.process_group)} "
                      f"application-group={quote_group(o.app_group)}")
    if o.application_group:
        lines.append("# --application-group: a named sub-interpreter.")
    else:
        lines.append("# The main interpreter: C extensions that do not support sub-interpreters work.")
    lines.append(f"WSGIApplicationGroup {quote_group(o.app_group)}")
    for url in o.ignore_activity:
        lines += ["# --ignore-activity: requests here do not reset --inactivity-timeout.",
                  *block(f"<Location {quote(url)}>", ["WSGIIgnoreActivity On"])]
    if o.reload_on_changes:
        lines += [
            "# Load the handler when a process starts (--reload-on-changes: its watcher runs",
            "# from the start; it touches the handler when an application file changes, and",
            "# that touch restarts the application, mod_wsgi_rs's script reloading).",
            f"WSGIImportScript {quote(o.handler_path)} {group_opts}",
        ]
    lines += _telemetry(o)
    lines += _services(o)
    if o.include_files:
        # Before the application's mount: the first WSGIScriptAlias that matches wins, so a
        # more specific one included here (another app at /api, say) is reached.
        lines += section("--include-file")
        lines += [f"Include {quote(path)}" for path in o.include_files]
    handler_dir = block(f"<Directory {quote(o.server_root)}>",
                        [f"AllowOverride {o.allow_override_text}",
                         *block(f"<Files {HANDLER_NAME}>", ["Require all granted"])])
    lines += section(f"the application ({o.application_type}: {o.app}), loaded by {o.handler_path}",
                     "# (touch it to restart the application)")
    if o.static_files:
        lines += sites.document_root(o, _handler_line(o, "wsgi-handler", o.handler_path, group_opts))
        if o.handler_scripts:
            lines += ["# --add-handler: these extensions of the document root go to resource.wsgi.",
                      _handler_line(o, "wsgi-resource", o.resource_path, group_opts),
                      *[f"AddHandler wsgi-resource {ext}" for ext, _ in o.handler_scripts]]
        if o.with_cgi:
            lines.append("AddHandler cgi-script .cgi")
        lines += handler_dir
        return lines
    lines += [f"WSGIScriptAlias {o.mount_point} {quote(o.handler_path)} {group_opts}", *handler_dir]
    return lines


def quote_group(name):
    """A process/application group name: bare when it can be (%{GLOBAL}, HOST:PORT), else quoted."""
    if name.startswith("%{") or not any(c.isspace() or c in "\"'\\" for c in name):
        return name
    return quote(name)


def _aliases(o):
    if not o.url_aliases:
        return []
    lines = section("--url-alias: files served by Apache itself (an Alias wins over the application)")
    is_dir = o.url_alias_is_dir or [True] * len(o.url_aliases)
    for (url, path), directory in sorted(zip(o.url_aliases, is_dir), reverse=True):
        lines.append(f"Alias {quote(url)} {quote(path)}")
        if directory:
            lines += block(f"<Directory {quote(path)}>",
                           [f"AllowOverride {o.allow_override_text}", "Require all granted"])
        else:
            parent, name = os.path.split(path)
            lines += block(f"<Directory {quote(parent)}>",
                           block(f"<Files {quote(name)}>", ["Require all granted"]))
    return lines


def _log_target(o, path):
    if o.rotate_logs and not o.to_terminal:
        return quote(f"|{o.rotatelogs_executable} {path}.%Y-%m-%d-%H_%M_%S {o.max_log_size}M")
    return quote(path)


def _logs(o):
    lines = section("logs", f"ErrorLog {_log_target(o, o.error_log)}", f"LogLevel {o.log_level}")
    if o.error_log_format:
        lines.append(f"ErrorLogFormat {format_quote(o.error_log_format)}")
    if o.access_log:
        fmt = o.access_log_format or "combined"
        lines += [
            'LogFormat "%h %l %u %t \\"%r\\" %>s %b" common',
            'LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-agent}i\\"" combined',
        ]
        if fmt not in ("common", "combined"):
            lines.append(f"LogFormat {format_quote(fmt)} custom")
            fmt = "custom"
        lines.append(f"CustomLog {_log_target(o, o.access_log_file)} {fmt}")
    return lines


def _read_timeout_part(name, timeout, max_timeout, min_rate):
    """One RequestReadTimeout part: name=timeout[-max][,MinRate=rate], or None when off."""
    if timeout <= 0:
        return None
    part = f"{name}={timeout}"
    if max_timeout > 0:
        part += f"-{max_timeout}"
    if min_rate > 0:
        part += f",MinRate={min_rate}"
    return part


def _request_read_timeout(o):
    parts = [p for p in (
        _read_timeout_part("header", o.header_timeout, o.header_max_timeout, o.header_min_rate),
        _read_timeout_part("body", o.body_timeout, o.body_max_timeout, o.body_min_rate),
    ) if p]
    return [f"RequestReadTimeout {' '.join(parts)}"] if parts else []


def render(o):
    """The whole httpd.conf for `o` (a ServerOptions)."""
    root = o.server_root
    lines = [
        "# Apache configuration written by mod_wsgi_rs-express (setup-server / start-server).",
        f"# Run it with {os.path.join(root, 'apachectl')} start|stop|restart|graceful|configtest,",
        f"# or in the foreground: {o.httpd_executable} -f {os.path.join(root, 'httpd.conf')} -DFOREGROUND",
    ]
    lines += section(
        "server",
        f"ServerRoot {quote(root)}",
        f"DefaultRuntimeDir {quote(root)}",
        f"PidFile {quote(o.pid_path)}",
        f"Mutex file:{root} default",
        f"Listen {o.listen(o.port)}",
        f"ListenBacklog {o.server_backlog}",
        f"ServerName {o.server_name or o.host_name}",
        "# Apache's children (and the daemon processes) run as this user.",
        f"User {o.user}",
        f"Group {o.group}",
        "ServerTokens ProductOnly",
        "ServerSignature Off",
        "HostnameLookups Off",
        "MaxMemFree 64",
        "# --socket-timeout; --header-timeout, --body-timeout and their rates.",
        f"Timeout {o.socket_timeout}",
        *_request_read_timeout(o),
        "# --limit-request-body (bytes; 0 unlimited)",
        f"LimitRequestBody {o.limit_request_body}",
        *(["KeepAlive On", f"KeepAliveTimeout {o.keep_alive_timeout}"] if o.keep_alive_timeout
          else ["KeepAlive Off"]),
        "# Bounds `apachectl graceful-stop` when a request is still running.",
        "GracefulShutdownTimeout 5",
    )
    if o.http2:
        lines += ["# --http2: HTTP/2 over TLS (h2) and cleartext (h2c).", "Protocols h2 h2c http/1.1"]
    lines += section("modules", *_modules(o))
    lines += section("worker sizing", *_mpm(o))
    lines += _logs(o)
    lines += section(
        "files: nothing is served but what is granted below",
        f"TypesConfig {quote(o.mime_types)}",
        *([] if o.static_files else [f"DocumentRoot {quote(o.docroot)}"]),
        *block("<Directory />", ["AllowOverride None", "Require all denied"]),
    )
    if o.setenv or o.passenv:
        lines += section("--setenv / --passenv: per-request environment (the WSGI environ)")
        lines += [f"SetEnv {name} {quote(value)}" for name, value in o.setenv]
        lines += [f"PassEnv {name}" for name in o.passenv]
    if o.compress_responses:
        lines += section(
            "--compress-responses",
            *[f"AddOutputFilterByType DEFLATE {t}" for t in COMPRESSED_TYPES],
        )
    if o.server_status or o.server_metrics:
        lines += section("--server-status / --server-metrics", "ExtendedStatus On")
    lines += sites.http_vhosts(o, others=bool(o.proxy_virtual_hosts or o.service_log_files))
    lines += sites.proxies(o)
    lines += _wsgi(o)
    lines += _aliases(o)
    lines += sites.error_documents(o)
    lines += sites.access_control(o)
    if o.server_status:
        lines += section(
            "--server-status: Apache's status page, from this machine only",
            *block("<Location /server-status>", ["SetHandler server-status", "Require local"]),
        )
    lines += sites.https(o)
    return "\n".join(lines) + "\n"
