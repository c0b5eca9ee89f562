"""The setup-server / start-server flags: mod_wsgi-express 6's names, meanings and defaults.

Only declarations live here (argparse); resolve.py checks them and config.py turns them into
httpd.conf. NOT_SUPPORTED names the mod_wsgi-express flags this runner refuses, with why.
"""

import argparse
import grp
import os
import pwd
import shutil

HTTPD = "/usr/sbin/apache2"
MODULES_DIR = "/usr/lib/apache2/modules"
MIME_TYPES = "/etc/mime.types"

_DEBUG = "needs mod_wsgi-express's own debug runtime (single-process debug mode)"

# mod_wsgi-express 6 flags this runner refuses: named as such (with the reason) instead of
# "did you mean ...", so a user switching over knows it is not a typo.
NOT_SUPPORTED = {
    "--free-threading": "WSGIFreeThreading On is refused by mod_wsgi_rs (no free-threaded "
                        "Python build to test against)",
    "--with-php5": "PHP 5 (mod_php5, prefork) is not packaged for this Apache",
    "--enable-docs": "mod_wsgi-express's bundled documentation is not shipped",
    "--debug-mode": _DEBUG,
    "--enable-debugger": _DEBUG + " (pdb post-mortem)",
    "--debugger-startup": _DEBUG + " (pdb post-mortem)",
    "--enable-coverage": _DEBUG + " (coverage.py)",
    "--coverage-directory": _DEBUG + " (coverage.py)",
    "--enable-profiler": _DEBUG + " (cProfile)",
    "--profiler-directory": _DEBUG + " (cProfile)",
    "--enable-recorder": _DEBUG + " (request recorder)",
    "--recorder-directory": _DEBUG + " (request recorder)",
    "--enable-gdb": _DEBUG + " (Apache under gdb)",
    "--gdb-executable": _DEBUG + " (Apache under gdb)",
}


def default_user():
    """www-data when run as root (Apache's children must not run as root), else you."""
    if os.geteuid() == 0:
        return "www-data"
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"#{os.getuid()}"


def default_group():
    if os.geteuid() == 0:
        return "www-data"
    try:
        return grp.getgrgid(os.getgid()).gr_name
    except KeyError:
        return f"#{os.getgid()}"


def positive(value):
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return n


def non_negative(value):
    n = int(value)
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return n


def fraction(value):
    x = float(value)
    if not 0 <= x <= 1:
        raise argparse.ArgumentTypeError(f"must be within 0 to 1, not {value}")
    return x


def seconds(value):
    x = float(value)
    if x <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {value}")
    return x


def port_number(value):
    n = int(value)
    if not 0 < n < 65536:
        raise argparse.ArgumentTypeError(f"not a port number: {value}")
    return n


def on_off_auto(value):
    v = value.capitalize()
    if v not in ("On", "Off", "Auto"):
        raise argparse.ArgumentTypeError(f"must be On, Off or Auto, not {value}")
    return v


def _application(p):
    p.add_argument("app", metavar="APP", nargs="?",
                   help="the application: a WSGI script file (default), a module name with "
                        "--application-type module, or a .ini with --application-type paste")
    a = p.add_argument_group("application")
    a.add_argument("--application-type", choices=["script", "module", "paste"], default="script",
                   help="what APP is: 'script' a WSGI script file (default); 'module' a Python "
                        "module to import (pkg.mod, or pkg.mod:callable); 'paste' a Paste "
                        "Deploy .ini file (needs PasteDeploy)")
    a.add_argument("--entry-point", metavar="FILE-PATH|MODULE",
                   help="the application, as APP (wins over APP when both are given)")
    a.add_argument("--callable-object", default="application", metavar="NAME",
                   help="the WSGI callable's name in the script or module (default: application)")
    a.add_argument("--application-group", metavar="NAME",
                   help="run the application in this named sub-interpreter (application-group=) "
                        "instead of the main interpreter (%%{GLOBAL})")
    a.add_argument("--process-group", metavar="NAME",
                   help="the daemon process group's name (default: HOST:PORT); the processes "
                        "are then named (wsgi:NAME)")
    a.add_argument("--mount-point", default="/", metavar="URL-PATH",
                   help="the URL the application is mounted at (default: /)")
    a.add_argument("--url-alias", nargs=2, action="append", default=[], metavar=("URL-PATH", "FILE-PATH"),
                   help="serve a file or directory at URL-PATH with Apache itself (an Apache "
                        "Alias, e.g. --url-alias /static ./static); repeatable")
    a.add_argument("--python-path", action="append", default=[], metavar="DIRECTORY",
                   help="add a directory to the application's sys.path; repeatable")
    a.add_argument("--python-eggs", metavar="DIRECTORY",
                   help="PYTHON_EGG_CACHE of the daemon processes (python-eggs=; default: "
                        "SERVER-ROOT/python-eggs)")
    a.add_argument("--python-warnings", action="append", default=[], metavar="SPEC",
                   help="a Python -W warnings filter (WSGIPythonWarnings); repeatable")
    a.add_argument("--working-directory", metavar="DIRECTORY",
                   help="the application processes' working directory, also first on sys.path "
                        "(default: the current directory)")
    a.add_argument("--setenv", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="set NAME=VALUE in each request's WSGI environ (Apache SetEnv); repeatable")
    a.add_argument("--passenv", action="append", default=[], metavar="NAME",
                   help="pass Apache's environment variable NAME into each request's WSGI "
                        "environ (Apache PassEnv); repeatable")
    a.add_argument("--lang", metavar="NAME", help=argparse.SUPPRESS)  # mod_wsgi-express: hidden
    a.add_argument("--locale", metavar="NAME",
                   help="LANG/LC_ALL of Apache and the daemon processes (lang=, locale=; "
                        "default: the current locale, C made C.UTF-8/en_US.UTF-8)")
    a.add_argument("--reload-on-changes", action="store_true",
                   help="restart the application when a Python file of it changes (the modules "
                        "it loaded from its directory, --python-path or --working-directory; "
                        "not the standard library or site-packages); polled once a second")
    a.add_argument("--disable-reloading", action="store_true",
                   help="touching the WSGI handler does not restart the application "
                        "(WSGIScriptReloading Off)")
    a.add_argument("--orphan-interpreter", action="store_true",
                   help="do not destroy the Python interpreter on shutdown "
                        "(WSGIDestroyInterpreter Off): faster exit, no atexit callbacks")
    a.add_argument("--add-handler", nargs=2, action="append", default=[],
                   metavar=("EXTENSION", "SCRIPT-PATH"),
                   help="files of the document root ending in EXTENSION are served by the "
                        "WSGI application in SCRIPT-PATH (AddHandler + WSGIHandlerScript); repeatable")
    a.add_argument("--service-script", nargs=2, action="append", default=[],
                   metavar=("SERVICE", "SCRIPT-PATH"),
                   help="run SCRIPT-PATH in a process of its own managed by Apache "
                        "(WSGIDaemonProcess service:SERVICE threads=0 + WSGIImportScript); repeatable")
    a.add_argument("--service-user", nargs=2, action="append", default=[], metavar=("SERVICE", "USER"),
                   help="the user a service runs as (default: --user)")
    a.add_argument("--service-group", nargs=2, action="append", default=[], metavar=("SERVICE", "GROUP"),
                   help="the group a service runs as (default: --group)")
    a.add_argument("--service-log-file", nargs=2, action="append", default=[],
                   metavar=("SERVICE", "FILE-NAME"),
                   help="a log file of its own (in the log directory) for a service")


def _server(p):
    s = p.add_argument_group("server")
    s.add_argument("--port", type=port_number, default=8000, metavar="NUMBER",
                   help="the HTTP port (default: 8000)")
    s.add_argument("--host", metavar="IP-ADDRESS",
                   help="listen on this address only (default: every interface)")
    s.add_argument("--server-name", metavar="HOSTNAME",
                   help="the site's host name: a name-based virtual host answers it and "
                        "--server-alias names, any other Host is refused (403); a www. name "
                        "also redirects the parent domain to it")
    s.add_argument("--server-alias", action="append", default=[], metavar="HOSTNAME",
                   help="another name of the --server-name virtual host (ServerAlias; "
                        "wildcards allowed); repeatable")
    s.add_argument("--allow-localhost", action="store_true",
                   help="with --server-name, still answer requests for other names from localhost")
    s.add_argument("--server-root", metavar="DIRECTORY",
                   help="where the configuration, logs and control script go "
                        "(default: /tmp/mod_wsgi_rs-HOST:PORT:UID)")
    s.add_argument("--pid-file", metavar="FILE-PATH",
                   help="Apache's PidFile (default: SERVER-ROOT/httpd.pid)")
    s.add_argument("--user", default=default_user(), metavar="NAME",
                   help="the user Apache's children and the application run as "
                        "(default: www-data when run as root, else you)")
    s.add_argument("--group", default=default_group(), metavar="NAME",
                   help="their group (default: www-data when run as root, else yours)")
    s.add_argument("--document-root", metavar="DIRECTORY-PATH",
                   help="serve the files in this directory with Apache; URLs with no file "
                        "there go to the application (default: none, everything goes to it)")
    s.add_argument("--directory-index", metavar="FILE-NAME",
                   help="the index file of document root directories (DirectoryIndex); a "
                        "directory then is served by Apache instead of the application")
    s.add_argument("--directory-listing", action="store_true",
                   help="list document root directories (Options +Indexes, mod_autoindex)")
    s.add_argument("--allow-override", action="append", default=[], metavar="DIRECTIVE-TYPE",
                   help="directive types .htaccess files may set in the document root and "
                        "--url-alias directories (AllowOverride, e.g. FileInfo); repeatable")
    s.add_argument("--rewrite-rules", metavar="FILE-PATH",
                   help="a file of mod_rewrite rules, Included in the document root's "
                        "<Directory> (implies a document root)")
    s.add_argument("--error-document", nargs=2, action="append", default=[],
                   metavar=("STATUS", "URL-PATH"),
                   help="the page Apache sends for an HTTP error STATUS (ErrorDocument); repeatable")
    s.add_argument("--error-override", action="store_true",
                   help="error responses of the application are replaced by --error-document "
                        "pages too (WSGIErrorOverride On)")
    s.add_argument("--mime-types", default=MIME_TYPES, metavar="FILE-PATH",
                   help=f"Apache's TypesConfig (default: {MIME_TYPES})")
    s.add_argument("--with-cgi", action="store_true",
                   help="run .cgi files of the document root as CGI scripts (mod_cgid)")
    s.add_argument("--include-file", action="append", default=[], metavar="FILE",
                   help="Include this Apache config file, before the application's mount (so "
                        "a more specific WSGIScriptAlias in it wins); repeatable")
    s.add_argument("--server-status", action="store_true",
                   help="Apache's status page at /server-status (mod_status), from this machine only")
    s.add_argument("--server-metrics", action="store_true",
                   help="collect mod_wsgi's server metrics (WSGIServerMetrics On, "
                        "ExtendedStatus On) for mod_wsgi.server_metrics()")
    s.add_argument("--compress-responses", action="store_true",
                   help="gzip text, HTML, CSS, JavaScript and JSON responses (mod_deflate)")
    s.add_argument("--enable-sendfile", action="store_true",
                   help="send files with sendfile(2) (EnableSendfile On, WSGIEnableSendfile On)")
    s.add_argument("--map-head-to-get", type=on_off_auto, default="Auto", metavar="OFF|ON|AUTO",
                   help="run HEAD requests as GET (WSGIMapHEADToGET; default: Auto, when an "
                        "output filter may need the body)")
    s.add_argument("--chunked-request", action="store_true",
                   help="accept chunked request bodies (WSGIChunkedRequest On)")
    s.add_argument("--http2", action="store_true",
                   help="enable HTTP/2 (mod_http2: h2 over HTTPS, h2c over HTTP)")
    s.add_argument("--keep-alive-timeout", type=non_negative, default=2, metavar="SECONDS",
                   help="KeepAliveTimeout; 0 turns keep-alive off (default: 2)")
    s.add_argument("--limit-request-body", type=non_negative, default=10485760, metavar="NUMBER",
                   help="the largest request body in bytes (LimitRequestBody; default: "
                        "10485760, 0 unlimited)")
    s.add_argument("--server-backlog", type=positive, default=500, metavar="NUMBER",
                   help="Apache's listen queue (ListenBacklog; default: 500)")
    s.add_argument("--socket-timeout", type=positive, default=60, metavar="SECONDS",
                   help="Apache's Timeout and the daemon socket-timeout= (default: 60)")
    s.add_argument("--header-timeout", type=non_negative, default=15, metavar="SECONDS",
                   help="time to receive the request headers (RequestReadTimeout header=; "
                        "default: 15, 0 no limit)")
    s.add_argument("--header-max-timeout", type=non_negative, default=30, metavar="SECONDS",
                   help="the most --header-min-rate may extend it to (default: 30)")
    s.add_argument("--header-min-rate", type=non_negative, default=500, metavar="BYTES",
                   help="each BYTES received extend the header timeout a second (default: 500)")
    s.add_argument("--body-timeout", type=non_negative, default=15, metavar="SECONDS",
                   help="time to receive the request body (RequestReadTimeout body=; "
                        "default: 15, 0 no limit)")
    s.add_argument("--body-max-timeout", type=non_negative, default=0, metavar="SECONDS",
                   help="the most --body-min-rate may extend it to (default: 0, no maximum)")
    s.add_argument("--body-min-rate", type=non_negative, default=500, metavar="BYTES",
                   help="each BYTES received extend the body timeout a second (default: 500)")
    s.add_argument("--trust-proxy-header", action="append", default=[], metavar="HEADER",
                   help="a header set by a front-end proxy to trust (WSGITrustedProxyHeaders, "
                        "e.g. X-Forwarded-For); repeatable")
    s.add_argument("--trust-proxy", action="append", default=[], metavar="IP/CIDR",
                   help="a proxy trusted to set those headers (WSGITrustedProxies); repeatable")
    s.add_argument("--proxy-mount-point", "--proxy-url-alias", nargs=2, action="append",
                   default=[], dest="proxy_mount_points", metavar=("URL-PATH", "URL"),
                   help="proxy URL-PATH (and below) to URL (mod_proxy; websockets too); repeatable")
    s.add_argument("--proxy-virtual-host", nargs=2, action="append", default=[],
                   metavar=("HOSTNAME", "URL"),
                   help="proxy every request for HOSTNAME to URL (a virtual host); repeatable")
    s.add_argument("--proxy-timeout", type=positive, metavar="SECONDS",
                   help="ProxyTimeout of the proxied requests (default: --socket-timeout)")


def _access(p):
    u = p.add_argument_group("access control")
    u.add_argument("--host-access-script", metavar="SCRIPT-PATH",
                   help="a Python script whose allow_access(environ, host) decides who may "
                        "connect (WSGIAccessScript)")
    u.add_argument("--auth-user-script", metavar="SCRIPT-PATH",
                   help="require a login checked by this script's check_password(environ, "
                        "user, password) (WSGIAuthUserScript)")
    u.add_argument("--auth-type", choices=["Basic", "Digest"], default="Basic",
                   help="the login scheme (default: Basic; Digest calls get_realm_hash)")
    u.add_argument("--auth-group-script", metavar="SCRIPT-PATH",
                   help="also require membership of --auth-group, by this script's "
                        "groups_for_user(environ, user) (WSGIAuthGroupScript)")
    u.add_argument("--auth-group", default="wsgi", metavar="NAME",
                   help="the group --auth-group-script must report (default: wsgi)")


def _https(p):
    t = p.add_argument_group("HTTPS")
    t.add_argument("--https-port", "--ssl-port", type=port_number, metavar="NUMBER",
                   help="also serve HTTPS on this port (needs a certificate and key)")
    t.add_argument("--ssl-certificate-file", metavar="FILE",
                   help="the server certificate (PEM)")
    t.add_argument("--ssl-certificate-key-file", metavar="FILE",
                   help="its private key (PEM)")
    t.add_argument("--ssl-certificate", metavar="FILE-PATH",
                   help="both at once: FILE-PATH.crt and FILE-PATH.key")
    t.add_argument("--ssl-certificate-chain-file", metavar="FILE",
                   help="intermediate certificates sent along (SSLCertificateChainFile)")
    t.add_argument("--ssl-ca-certificate-file", metavar="FILE",
                   help="require client certificates signed by these CAs (SSLCACertificateFile, "
                        "SSLVerifyClient require) for the whole site or --ssl-verify-client URLs")
    t.add_argument("--ssl-verify-client", action="append", default=[], metavar="URL-PATH",
                   help="require a client certificate below this URL only; repeatable")
    t.add_argument("--ssl-environment", action="store_true",
                   help="TLS details (SSL_*) in the WSGI environ (SSLOptions +StdEnvVars)")
    t.add_argument("--https-only", action="store_true",
                   help="redirect HTTP requests to the HTTPS port")
    t.add_argument("--hsts-policy", metavar="PARAMS",
                   help="with --https-only, the Strict-Transport-Security header "
                        "(e.g. 'max-age=31536000')")


def _processes(p):
    w = p.add_argument_group("processes")
    w.add_argument("--embedded-mode", action="store_true",
                   help="run the application inside Apache's children instead of daemon processes")
    w.add_argument("--processes", type=positive, metavar="NUMBER",
                   help="application processes (default: 1)")
    w.add_argument("--threads", type=positive, default=5, metavar="NUMBER",
                   help="threads per application process (default: 5)")
    w.add_argument("--max-clients", type=positive, metavar="NUMBER",
                   help="the most concurrent connections Apache takes (default: "
                        "10 + max(10, 1.5 x processes x threads))")
    w.add_argument("--initial-workers", type=fraction, metavar="NUMBER",
                   help="Apache workers started, as a fraction 0-1 of --max-clients")
    w.add_argument("--minimum-spare-workers", type=fraction, metavar="NUMBER",
                   help="idle workers kept at least, as a fraction 0-1 of --max-clients")
    w.add_argument("--maximum-spare-workers", type=fraction, metavar="NUMBER",
                   help="idle workers kept at most, as a fraction 0-1 of --max-clients")
    w.add_argument("--server-mpm", action="append", default=[], choices=["event", "worker", "prefork"],
                   help="the Apache MPM to use (default: event, else worker, else prefork)")
    w.add_argument("--maximum-requests", type=non_negative, default=0, metavar="NUMBER",
                   help="restart a process after this many requests (default: 0, never)")
    w.add_argument("--process-name", metavar="NAME",
                   help="the name of Apache's parent process (default: 'apache2 (mod_wsgi_rs-express)')")
    w.add_argument("--socket-prefix", metavar="DIRECTORY",
                   help="where the daemon sockets go (WSGISocketPrefix DIRECTORY/wsgi; "
                        "default: the server root)")
    w.add_argument("--daemon-backlog", type=positive, default=100, metavar="NUMBER",
                   help="a daemon socket's listen queue (listen-backlog=; default: 100)")
    for name, default, what in [
        ("request-timeout", 60, "a daemon process whose request runs this long is restarted"),
        ("queue-timeout", 45, "a request waiting this long for a daemon thread is answered 504"),
        ("graceful-timeout", 15, "how long a restarting daemon process may finish its requests"),
        ("startup-timeout", 15, "a daemon process that fails to load the application is "
                                "restarted after this long"),
        ("shutdown-timeout", 5, "how long a stopping daemon process may take"),
        ("deadlock-timeout", 60, "a daemon process whose Python is stuck (GIL held) this long "
                                 "is restarted"),
        ("connect-timeout", 15, "how long Apache tries to connect to a daemon process"),
        ("restart-interval", 0, "restart daemon processes this often (0: never)"),
        ("eviction-timeout", 0, "graceful-timeout for a restart asked for by signal or the "
                                "handler's touch (0: --graceful-timeout)"),
        ("inactivity-timeout", 0, "restart a daemon process idle this long (0: never)"),
        ("interrupt-timeout", 0, "after --request-timeout, how long before the stuck request "
                                 "is interrupted (0: at once)"),
        ("response-socket-timeout", 0, "how long writing a response to Apache may block "
                                       "(0: --socket-timeout)"),
        ("response-flush-delay", 5, "milliseconds a flush waits for more data to send along"),
    ]:
        w.add_argument(f"--{name}", type=non_negative, default=default, metavar="SECONDS"
                       if "milliseconds" not in what else "MILLISECONDS",
                       help=f"{what} ({name}=; default: {default})")
    w.add_argument("--cpu-time-limit", type=non_negative, default=0, metavar="SECONDS",
                   help="restart a daemon process after this much CPU time (cpu-time-limit=; "
                        "default: 0, never)")
    w.add_argument("--ignore-activity", action="append", default=[], metavar="URL-PATH",
                   help="requests below this URL (health checks) do not count as activity "
                        "for --inactivity-timeout (WSGIIgnoreActivity); repeatable")
    for name, minimum in [("send-buffer-size", 512), ("receive-buffer-size", 512),
                          ("header-buffer-size", 8192), ("response-buffer-size", 65536)]:
        w.add_argument(f"--{name}", type=non_negative, default=0, metavar="NUMBER",
                       help=f"daemon socket {name.replace('-', ' ')} in bytes ({name}=; "
                            f"0 the default, else at least {minimum})")
    w.add_argument("--switch-interval", type=seconds, metavar="SECONDS",
                   help="Python's thread switch interval, sys.setswitchinterval() "
                        "(WSGISwitchInterval, switch-interval=)")


def _logging(p):
    g = p.add_argument_group("logging")
    g.add_argument("--log-level", default="warn", metavar="NAME",
                   choices=["emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"]
                   + [f"trace{i}" for i in range(1, 9)],
                   help="Apache's LogLevel (default: warn)")
    g.add_argument("--log-directory", metavar="DIRECTORY",
                   help="where the logs go (default: SERVER-ROOT/logs); overrides --log-to-terminal")
    g.add_argument("--log-to-terminal", action="store_true",
                   help="error log to stderr (and the access log, if on, to stdout) instead of files")
    g.add_argument("--access-log", action="store_true",
                   help="write an access log (access.log, or stdout with --log-to-terminal)")
    g.add_argument("--access-log-format", metavar="FORMAT",
                   help="the access log's LogFormat: common, combined (the default) or a format")
    g.add_argument("--access-log-name", default="access.log", metavar="FILE-NAME",
                   help="the access log's name in the log directory (default: access.log)")
    g.add_argument("--error-log-format", metavar="FORMAT",
                   help="the error log's ErrorLogFormat")
    g.add_argument("--error-log-name", default="error.log", metavar="FILE-NAME",
                   help="the error log's name in the log directory (default: error.log)")
    g.add_argument("--startup-log", action="store_true",
                   help="Apache's start-up errors to a log file (httpd -E) instead of the terminal")
    g.add_argument("--startup-log-name", default="startup.log", metavar="FILE-NAME",
                   help="its name in the log directory (default: startup.log)")
    g.add_argument("--rotate-logs", action="store_true",
                   help="rotate the logs with rotatelogs when they reach --max-log-size")
    g.add_argument("--max-log-size", type=positive, default=5, metavar="MB",
                   help="log size that triggers rotation, in megabytes (default: 5)")
    g.add_argument("--rotatelogs-executable", default=shutil.which("rotatelogs") or "/usr/bin/rotatelogs",
                   metavar="FILE-PATH", help="the rotatelogs program (default: %(default)s)")
    g.add_argument("--telemetry-service", metavar="unix:PATH",
                   help="send mod_wsgi 6's telemetry datagrams to this UNIX socket (WSGITelemetryService)")
    g.add_argument("--telemetry-interval", type=float, default=1.0, metavar="SECONDS",
                   help="seconds between process samples (interval=; default 1.0, at least 0.5)")
    g.add_argument("--slow-requests", type=float, metavar="SECONDS",
                   help="report requests running longer than this (WSGISlowRequests); needs a telemetry target")
    g.add_argument("--telemetry-options", action="append", default=[], metavar="ARGS",
                   help="a WSGITelemetryOptions line, verbatim (e.g. +CaptureUserAgent); repeatable")
    g.add_argument("--enable-telemetry", action="store_true",
                   help="run the mod-wsgi-telemetry receiver as a service (its UI on --telemetry-ui-port) "
                        "and point the processes at it; needs the mod-wsgi-telemetry package")
    g.add_argument("--telemetry-ui-port", type=port_number, default=8888, metavar="NUMBER",
                   help="the receiver's web UI port with --enable-telemetry (default: 8888, on 127.0.0.1)")
    g.add_argument("--verbose-debugging", action="store_true",
                   help="WSGIVerboseDebugging On (accepted; no effect in mod_wsgi 6)")


def _programs(p):
    x = p.add_argument_group("programs and start-up")
    x.add_argument("--httpd-executable", default=os.environ.get("HTTPD", HTTPD), metavar="FILE-PATH",
                   help="the Apache to run (default: $HTTPD, else %(default)s)")
    x.add_argument("--modules-directory", default=MODULES_DIR, metavar="DIRECTORY",
                   help=f"where Apache's modules are (default: {MODULES_DIR})")
    x.add_argument("--shell-executable", default=shutil.which("bash") or "/bin/sh",
                   metavar="FILE-PATH", help="the shell of apachectl (default: %(default)s)")
    x.add_argument("--envvars-script", metavar="FILE-PATH",
                   help="a shell script apachectl sources before starting Apache "
                        "(default: SERVER-ROOT/envvars, empty)")
    x.add_argument("--setup-only", action="store_true",
                   help="start-server: write the server root but do not start Apache")


def add_server_options(p):
    for group in (_application, _server, _access, _https, _processes, _logging, _programs):
        group(p)
