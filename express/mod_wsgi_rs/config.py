"""Options -> httpd.conf text. Pure: no file system, no Apache; unit-tested on its own.

The text is meant to be kept: a user may copy the ServerRoot's httpd.conf into their own
setup and edit it, so every section says what it is for, and only what is needed is written
(no <IfDefine> maze as in mod_wsgi-express's template).
"""

import math
import os
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

# Debian's Apache, which the generated configuration runs.
HTTPD = "/usr/sbin/apache2"
MODULES_DIR = "/usr/lib/apache2/modules"
MIME_TYPES = "/etc/mime.types"

HANDLER_NAME = "handler.wsgi"
RELOADER_NAME = "mod_wsgi_rs_reload.py"

# Types --compress-responses compresses (mod_wsgi-express's list).
COMPRESSED_TYPES = [
    "text/plain", "text/html", "text/xml", "text/css", "text/javascript",
    "application/xhtml+xml", "application/javascript", "application/json",
]


@dataclass
class ServerOptions:
    """Everything setup-server needs, already resolved (absolute paths, defaults filled)."""

    app: str                      # script / .ini path, or module name for --application-type module
    server_root: str
    module_so: str
    python_home: str
    working_directory: str
    user: str
    group: str
    application_type: str = "script"
    callable_object: str = "application"
    port: int = 8000
    host: Optional[str] = None    # None: every interface (as mod_wsgi-express)
    server_name: Optional[str] = None
    processes: Optional[int] = None
    threads: int = 5
    embedded_mode: bool = False
    mount_point: str = "/"
    url_aliases: List[Tuple[str, str]] = field(default_factory=list)
    url_alias_is_dir: List[bool] = field(default_factory=list)  # one per url_aliases entry
    python_paths: List[str] = field(default_factory=list)
    reload_on_changes: bool = False
    request_timeout: int = 60
    queue_timeout: int = 45
    maximum_requests: int = 0
    graceful_timeout: int = 15
    log_to_terminal: bool = False
    access_log: bool = False
    log_level: str = "warn"
    https_port: Optional[int] = None
    ssl_certificate_file: Optional[str] = None
    ssl_certificate_key_file: Optional[str] = None
    http2: bool = False
    trust_proxy_headers: List[str] = field(default_factory=list)
    trust_proxies: List[str] = field(default_factory=list)
    server_status: bool = False
    include_files: List[str] = field(default_factory=list)
    setenv: List[Tuple[str, str]] = field(default_factory=list)
    compress_responses: bool = False
    uid: int = field(default_factory=os.getuid)

    # ---- derived names

    @property
    def host_name(self):
        """The name in the daemon group, the default root and ServerName: localhost
        unless --host is given (as mod_wsgi-express)."""
        return self.host or "localhost"

    @property
    def process_group(self):
        return f"{self.host_name}:{self.port}"

    @property
    def display_name(self):
        return f"(wsgi:{self.host_name}:{self.port}:{self.uid})"

    @property
    def handler_path(self):
        return os.path.join(self.server_root, HANDLER_NAME)

    @property
    def reloader_path(self):
        return os.path.join(self.server_root, RELOADER_NAME)

    @property
    def logs_dir(self):
        return os.path.join(self.server_root, "logs")

    @property
    def error_log(self):
        return "/dev/stderr" if self.log_to_terminal else os.path.join(self.logs_dir, "error.log")

    @property
    def access_log_file(self):
        return "/dev/stdout" if self.log_to_terminal else os.path.join(self.logs_dir, "access.log")

    @property
    def process_count(self):
        return self.processes or 1

    @property
    def sys_path(self):
        """What the application's sys.path gets in front: the working directory (as
        mod_wsgi-express), then each --python-path."""
        return list(dict.fromkeys([self.working_directory, *self.python_paths]))

    @property
    def url(self):
        return f"http://{self.host_name}:{self.port}{self.mount_point}"


def quote(value):
    """An Apache config argument: double-quoted, with \\ and " escaped."""
    value = str(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def option(name, value):
    """A `name=value` option of WSGIDaemonProcess/WSGIScriptAlias, quoted only when the value
    needs it (the whole token is quoted, which Apache's tokenizer takes as one word)."""
    value = str(value)
    if value and not any(c.isspace() or c in "\"'\\" for c in value):
        return f"{name}={value}"
    return quote(f"{name}={value}")


def listen_address(host, port):
    if host is None:
        return str(port)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # IPv6 literal
    return f"{host}:{port}"


def load(name, so=None):
    so = so or f"mod_{name}.so"
    return f"LoadModule {name}_module {quote(os.path.join(MODULES_DIR, so))}"


def _section(title, *lines):
    return ["", f"# ---- {title}", *lines]


def _mpm(o):
    """Event MPM sizing. Embedded mode: Apache's children are the application's processes,
    so they are sized by --processes/--threads. Daemon mode: the children only pass requests
    on, so there are enough threads for every daemon thread plus slack for slow clients and
    static files (mod_wsgi-express's rule: 10 + max(10, 1.5 x processes x threads))."""
    if o.embedded_mode:
        procs, per_child = o.process_count, o.threads
        workers = procs * per_child
        lines = [
            "# Embedded mode: each Apache child is one application process with --threads threads.",
            "<IfModule mpm_event_module>",
            f"    StartServers            {procs}",
            f"    ServerLimit             {procs}",
            f"    ThreadLimit             {per_child}",
            f"    ThreadsPerChild         {per_child}",
            f"    MaxRequestWorkers       {workers}",
            f"    MinSpareThreads         {per_child}",
            f"    MaxSpareThreads         {workers + per_child}",
            # --maximum-requests recycles a child after that many connections (0: never).
            f"    MaxConnectionsPerChild  {o.maximum_requests}",
            "</IfModule>",
        ]
        return lines
    total = 10 + max(10, int(1.5 * o.process_count * o.threads))
    per_child = min(total, 25)
    limit = math.ceil(total / per_child)
    return [
        "# Daemon mode: Apache's children only proxy to the daemon processes.",
        "<IfModule mpm_event_module>",
        "    StartServers            1",
        f"    ServerLimit             {limit}",
        f"    ThreadLimit             {per_child}",
        f"    ThreadsPerChild         {per_child}",
        f"    MaxRequestWorkers       {limit * per_child}",
        f"    MinSpareThreads         {per_child}",
        f"    MaxSpareThreads         {limit * per_child}",
        "    MaxConnectionsPerChild  0",
        "</IfModule>",
    ]


def _modules(o):
    lines = [
        load("mpm_event"),
        load("authz_core"),
        load("authz_host"),   # Require local / ip / host
        load("mime"),
        load("alias"),        # --url-alias
        load("dir"),
        load("env"),          # --setenv
    ]
    if o.compress_responses:
        lines += [load("filter"), load("deflate")]
    if o.https_port:
        lines += [load("socache_shmcb"), load("ssl")]
    if o.http2:
        lines.append(load("http2"))
    if o.server_status:
        lines.append(load("status"))
    return lines


def _daemon_process(o):
    opts = [
        option("display-name", o.display_name),
        option("python-home", o.python_home),
        option("home", o.working_directory),
        option("python-path", ":".join(o.sys_path)),
        # processes= only when asked for: with it mod_wsgi says wsgi.multiprocess=True
        # even for processes=1 (mod_wsgi-express does the same).
        *([option("processes", o.processes)] if o.processes else []),
        option("threads", o.threads),
        option("maximum-requests", o.maximum_requests),
        option("request-timeout", o.request_timeout),
        option("queue-timeout", o.queue_timeout),
        option("graceful-timeout", o.graceful_timeout),
    ]
    return [f"WSGIDaemonProcess {o.process_group} \\"] + [
        f"    {opt}" + (" \\" if i < len(opts) - 1 else "") for i, opt in enumerate(opts)]


def _wsgi(o):
    mount = o.mount_point
    lines = _section(
        "mod_wsgi_rs (the wsgi_module)",
        f"LoadModule wsgi_module {quote(o.module_so)}",
        "# The Python (virtualenv) that runs the application: the one that ran mod_wsgi_rs-express.",
        f"WSGIPythonHome {quote(o.python_home)}",
        f"WSGISocketPrefix {quote(os.path.join(o.server_root, 'wsgi'))}",
        "# Authorization headers reach the application (as mod_wsgi-express).",
        "WSGIPassAuthorization On",
    )
    if o.trust_proxy_headers:
        lines.append("# Headers set by a trusted front-end proxy that rewrite REMOTE_ADDR, wsgi.url_scheme, ...")
        lines.append("WSGITrustedProxyHeaders " + " ".join(o.trust_proxy_headers))
    if o.trust_proxies:
        lines.append("# Only these proxies are trusted to set them.")
        lines.append("WSGITrustedProxies " + " ".join(o.trust_proxies))

    if o.embedded_mode:
        lines += _section(
            "the application, in embedded mode (inside Apache's children)",
            "WSGIPythonPath " + quote(":".join(o.sys_path)),
            "WSGIProcessGroup %{GLOBAL}",
        )
        group_opts = "process-group=%{GLOBAL} application-group=%{GLOBAL}"
    else:
        lines += _section(
            "the application, in daemon mode (its own processes, run as User/Group)",
            "# Apache's children never run Python themselves.",
            "WSGIRestrictEmbedded On",
            *_daemon_process(o),
            f"WSGIProcessGroup {o.process_group}",
        )
        group_opts = f"process-group={o.process_group} application-group=%{{GLOBAL}}"
    lines += [
        "# The main interpreter: C extensions that do not support sub-interpreters work.",
        "WSGIApplicationGroup %{GLOBAL}",
    ]
    if o.reload_on_changes:
        lines += [
            "# --reload-on-changes: load the handler when a process starts, so its watcher runs",
            "# from the start; it touches the handler when an application file changes, and",
            "# that touch restarts the application (mod_wsgi_rs's script reloading).",
            f"WSGIImportScript {quote(o.handler_path)} {group_opts}",
        ]
    if o.include_files:
        # Before the application's mount: the first WSGIScriptAlias that matches wins, so a
        # more specific one included here (another app at /api, say) is reached.
        lines += _section("--include-file")
        lines += [f"Include {quote(path)}" for path in o.include_files]
    lines += [
        f"# {o.handler_path} loads the application ({o.application_type}: {o.app});",
        "# touch it to restart the application.",
        f"WSGIScriptAlias {mount} {quote(o.handler_path)} {group_opts}",
        f"<Directory {quote(o.server_root)}>",
        f"    <Files {HANDLER_NAME}>",
        "        Require all granted",
        "    </Files>",
        "</Directory>",
    ]
    return lines


def _aliases(o):
    if not o.url_aliases:
        return []
    lines = _section("--url-alias: files served by Apache itself (an Alias wins over the WSGIScriptAlias)")
    is_dir = o.url_alias_is_dir or [True] * len(o.url_aliases)
    for (url, path), directory in zip(o.url_aliases, is_dir):
        lines.append(f"Alias {quote(url)} {quote(path)}")
        if directory:
            lines += [f"<Directory {quote(path)}>", "    Require all granted", "</Directory>"]
        else:
            parent, name = os.path.split(path)
            lines += [f"<Directory {quote(parent)}>", f"    <Files {quote(name)}>",
                      "        Require all granted", "    </Files>", "</Directory>"]
    return lines


def _ssl(o):
    if not o.https_port:
        return []
    return _section(
        "HTTPS (--https-port)",
        f"Listen {listen_address(o.host, o.https_port)}",
        f"SSLSessionCache {quote('shmcb:' + os.path.join(o.server_root, 'ssl_scache(512000)'))}",
        f"<VirtualHost *:{o.https_port}>",
        f"    ServerName {o.server_name or o.host_name}",
        "    SSLEngine on",
        f"    SSLCertificateFile {quote(o.ssl_certificate_file)}",
        f"    SSLCertificateKeyFile {quote(o.ssl_certificate_key_file)}",
        "</VirtualHost>",
    )


def render(o):
    """The whole httpd.conf for `o` (a ServerOptions)."""
    root = o.server_root
    lines = [
        "# Apache configuration written by mod_wsgi_rs-express (setup-server / start-server).",
        f"# Run it with {os.path.join(root, 'apachectl')} start|stop|restart|graceful|configtest,",
        f"# or in the foreground: {HTTPD} -f {os.path.join(root, 'httpd.conf')} -DFOREGROUND",
    ]
    lines += _section(
        "server",
        f"ServerRoot {quote(root)}",
        f"DefaultRuntimeDir {quote(root)}",
        f"PidFile {quote(os.path.join(root, 'httpd.pid'))}",
        f"Mutex file:{root} default",
        f"Listen {listen_address(o.host, o.port)}",
        f"ServerName {o.server_name or o.host_name}",
        "# Apache's children (and the daemon processes) run as this user.",
        f"User {o.user}",
        f"Group {o.group}",
        "ServerTokens ProductOnly",
        "ServerSignature Off",
        "HostnameLookups Off",
        "Timeout 60",
        "KeepAlive On",
        "KeepAliveTimeout 2",
        "# Bounds `apachectl graceful-stop` when a request is still running.",
        "GracefulShutdownTimeout 5",
    )
    if o.http2:
        lines += ["# --http2: HTTP/2 over TLS (h2) and cleartext (h2c).", "Protocols h2 h2c http/1.1"]
    lines += _section("modules", *_modules(o))
    lines += _section("worker sizing", *_mpm(o))
    lines += _section(
        "logs",
        f"ErrorLog {quote(o.error_log)}",
        f"LogLevel {o.log_level}",
    )
    if o.access_log:
        lines += [
            'LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-agent}i\\"" combined',
            f"CustomLog {quote(o.access_log_file)} combined",
        ]
    lines += _section(
        "files: nothing is served but what is granted below",
        f"TypesConfig {quote(MIME_TYPES)}",
        f"DocumentRoot {quote(os.path.join(root, 'htdocs'))}",
        "<Directory />",
        "    AllowOverride None",
        "    Require all denied",
        "</Directory>",
    )
    if o.setenv:
        lines += _section("--setenv: per-request environment (the WSGI environ)")
        lines += [f"SetEnv {name} {quote(value)}" for name, value in o.setenv]
    if o.compress_responses:
        lines += _section(
            "--compress-responses",
            *[f"AddOutputFilterByType DEFLATE {t}" for t in COMPRESSED_TYPES],
        )
    lines += _wsgi(o)
    lines += _aliases(o)
    if o.server_status:
        lines += _section(
            "--server-status: Apache's status page, from this machine only",
            "ExtendedStatus On",
            "<Location /server-status>",
            "    SetHandler server-status",
            "    Require local",
            "</Location>",
        )
    lines += _ssl(o)
    return "\n".join(lines) + "\n"


APACHECTL = """\
#!/bin/sh
# Control script for the Apache in this ServerRoot (written by mod_wsgi_rs-express).
#   apachectl start|stop|restart|graceful|graceful-stop|configtest
# Extra arguments go to Apache (e.g. `apachectl start -DFOREGROUND`).

HTTPD={httpd}
CONF={conf}

# A PYTHONHOME/PYTHONPATH of the calling shell must not reach the Python inside Apache:
# WSGIPythonHome and python-path= say which Python and path it uses.
unset PYTHONHOME PYTHONPATH

cmd="$1"
[ $# -gt 0 ] && shift
case "$cmd" in
    start|stop|restart|graceful|graceful-stop)
        exec "$HTTPD" -f "$CONF" -k "$cmd" "$@" ;;
    configtest)
        exec "$HTTPD" -f "$CONF" -t "$@" ;;
    *)
        echo "usage: $0 start|stop|restart|graceful|graceful-stop|configtest" >&2
        exit 2 ;;
esac
"""


def sh_quote(value):
    return "'" + str(value).replace("'", "'\\''") + "'"


def render_apachectl(o):
    return APACHECTL.format(httpd=sh_quote(HTTPD),
                            conf=sh_quote(os.path.join(o.server_root, "httpd.conf")))
