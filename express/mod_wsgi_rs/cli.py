"""`mod_wsgi_rs-express`: mod_wsgi-express 6's commands, for mod_wsgi_rs and Debian's Apache.

    mod_wsgi_rs-express start-server app.wsgi --port 8080
    mod_wsgi_rs-express setup-server app.wsgi --server-root /srv/site && /srv/site/apachectl start
    mod_wsgi_rs-express module-config      # LoadModule + WSGIPythonHome for a system Apache
"""

import argparse
import difflib
import grp
import os
import pwd
import re
import shutil
import subprocess
import sys
from pathlib import Path

from . import ModuleNotFound, __version__, config, server_module, server_root

PROG = "mod_wsgi_rs-express"

# mod_wsgi-express 6 options this runner does not implement: named as such instead of
# "did you mean ...", so a user switching over knows it is not a typo.
MOD_WSGI_EXPRESS_ONLY = {
    "--entry-point", "--application-group", "--process-group", "--ssl-port",
    "--ssl-certificate", "--ssl-ca-certificate-file", "--ssl-verify-client",
    "--ssl-certificate-chain-file", "--ssl-environment", "--https-only", "--hsts-policy",
    "--server-alias", "--allow-localhost", "--max-clients", "--initial-workers",
    "--minimum-spare-workers", "--maximum-spare-workers", "--limit-request-body",
    "--startup-timeout", "--shutdown-timeout", "--restart-interval", "--cpu-time-limit",
    "--eviction-timeout", "--deadlock-timeout", "--inactivity-timeout", "--ignore-activity",
    "--interrupt-timeout", "--connect-timeout", "--socket-timeout", "--proxy-timeout",
    "--header-timeout", "--header-max-timeout", "--header-min-rate", "--body-timeout",
    "--body-max-timeout", "--body-min-rate", "--server-backlog", "--daemon-backlog",
    "--send-buffer-size", "--receive-buffer-size", "--header-buffer-size",
    "--response-buffer-size", "--response-socket-timeout", "--response-flush-delay",
    "--enable-sendfile", "--disable-reloading", "--map-head-to-get", "--document-root",
    "--directory-index", "--directory-listing", "--allow-override", "--error-document",
    "--error-override", "--proxy-mount-point", "--proxy-url-alias", "--proxy-virtual-host",
    "--keep-alive-timeout", "--server-metrics", "--telemetry-service", "--enable-telemetry",
    "--telemetry-ui-port", "--telemetry-interval", "--slow-requests", "--switch-interval",
    "--free-threading", "--telemetry-options", "--host-access-script", "--auth-user-script",
    "--auth-type", "--auth-group-script", "--auth-group", "--rewrite-rules",
    "--envvars-script", "--lang", "--locale", "--passenv", "--pid-file", "--server-mpm",
    "--log-directory", "--startup-log", "--verbose-debugging", "--access-log-format",
    "--error-log-format", "--error-log-name", "--access-log-name", "--startup-log-name",
    "--rotate-logs", "--max-log-size", "--rotatelogs-executable", "--python-eggs",
    "--python-warnings", "--shell-executable", "--httpd-executable", "--process-name",
    "--mime-types", "--socket-prefix", "--add-handler", "--chunked-request", "--with-cgi",
    "--service-script", "--service-user", "--service-group", "--service-log-file",
    "--orphan-interpreter", "--enable-docs", "--debug-mode", "--enable-debugger",
    "--debugger-startup", "--enable-coverage", "--coverage-directory", "--enable-profiler",
    "--profiler-directory", "--enable-recorder", "--recorder-directory", "--enable-gdb",
    "--gdb-executable", "--setup-only",
}


class Parser(argparse.ArgumentParser):
    """argparse with mod_wsgi-express's error style for options: an unknown one is named
    with the nearest valid one."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)  # --prot must not silently mean --port...
        super().__init__(*args, **kwargs)

    def long_options(self):
        return sorted({s for a in self._actions for s in a.option_strings if s.startswith("--")})

    def parse_args(self, args=None, namespace=None):
        ns, extra = self.parse_known_args(args, namespace)
        for arg in extra:
            if arg.startswith("-") and arg != "-":
                name = arg.split("=", 1)[0]
                if name in MOD_WSGI_EXPRESS_ONLY:
                    self.error(f"{name} is a mod_wsgi-express option that {PROG} does not support")
                close = difflib.get_close_matches(name, self.long_options(), n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]}?" if close else f" (see {self.prog} --help)"
                self.error(f"unknown option {name}{hint}")
        if extra:
            self.error(f"unexpected argument {extra[0]!r}")
        return ns

    def error(self, message):
        # One line and a pointer to --help: the full usage of ~40 options buries the message.
        self.exit(2, f"{self.prog}: error: {message}\n(see {self.prog} --help)\n")


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


def port_number(value):
    n = int(value)
    if not 0 < n < 65536:
        raise argparse.ArgumentTypeError(f"not a port number: {value}")
    return n


def add_server_options(p):
    p.add_argument("app", metavar="APP",
                   help="the application: a WSGI script file (default), a module name with "
                        "--application-type module, or a .ini with --application-type paste")
    a = p.add_argument_group("application")
    a.add_argument("--application-type", choices=["script", "module", "paste"], default="script",
                   help="what APP is: 'script' a WSGI script file (default); 'module' a Python "
                        "module to import (pkg.mod, or pkg.mod:callable); 'paste' a Paste "
                        "Deploy .ini file (needs PasteDeploy)")
    a.add_argument("--callable-object", default="application", metavar="NAME",
                   help="the WSGI callable's name in the script or module (default: application)")
    a.add_argument("--mount-point", default="/", metavar="URL-PATH",
                   help="the URL the application is mounted at (default: /)")
    a.add_argument("--url-alias", nargs=2, action="append", default=[], metavar=("URL-PATH", "FILE-PATH"),
                   help="serve a file or directory at URL-PATH with Apache itself (an Apache "
                        "Alias, e.g. --url-alias /static ./static); repeatable")
    a.add_argument("--python-path", action="append", default=[], metavar="DIRECTORY",
                   help="add a directory to the application's sys.path; repeatable")
    a.add_argument("--working-directory", metavar="DIRECTORY",
                   help="the application processes' working directory, also first on sys.path "
                        "(default: the current directory)")
    a.add_argument("--setenv", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="set NAME=VALUE in each request's WSGI environ (Apache SetEnv); repeatable")
    a.add_argument("--reload-on-changes", action="store_true",
                   help="restart the application when a Python file of it changes (the modules "
                        "it loaded from its directory, --python-path or --working-directory; "
                        "not the standard library or site-packages); polled once a second")

    s = p.add_argument_group("server")
    s.add_argument("--port", type=port_number, default=8000, metavar="NUMBER",
                   help="the HTTP port (default: 8000)")
    s.add_argument("--host", metavar="IP-ADDRESS",
                   help="listen on this address only (default: every interface)")
    s.add_argument("--server-name", metavar="HOSTNAME",
                   help="Apache's ServerName (default: the --host, or localhost)")
    s.add_argument("--server-root", metavar="DIRECTORY",
                   help="where the configuration, logs and control script go "
                        "(default: /tmp/mod_wsgi_rs-HOST:PORT:UID)")
    s.add_argument("--user", default=default_user(), metavar="NAME",
                   help="the user Apache's children and the application run as "
                        "(default: www-data when run as root, else you)")
    s.add_argument("--group", default=default_group(), metavar="NAME",
                   help="their group (default: www-data when run as root, else yours)")
    s.add_argument("--include-file", action="append", default=[], metavar="FILE",
                   help="Include this Apache config file, before the application's mount (so a more specific WSGIScriptAlias in it wins); repeatable")
    s.add_argument("--server-status", action="store_true",
                   help="Apache's status page at /server-status (mod_status), from this machine only")
    s.add_argument("--compress-responses", action="store_true",
                   help="gzip text, HTML, CSS, JavaScript and JSON responses (mod_deflate)")
    s.add_argument("--http2", action="store_true",
                   help="enable HTTP/2 (mod_http2: h2 over HTTPS, h2c over HTTP)")
    s.add_argument("--trust-proxy-header", action="append", default=[], metavar="HEADER",
                   help="a header set by a front-end proxy to trust (WSGITrustedProxyHeaders, "
                        "e.g. X-Forwarded-For); repeatable")
    s.add_argument("--trust-proxy", action="append", default=[], metavar="IP/CIDR",
                   help="a proxy trusted to set those headers (WSGITrustedProxies); repeatable")

    t = p.add_argument_group("HTTPS")
    t.add_argument("--https-port", type=port_number, metavar="NUMBER",
                   help="also serve HTTPS on this port (needs the two files below)")
    t.add_argument("--ssl-certificate-file", metavar="FILE",
                   help="the server certificate (PEM)")
    t.add_argument("--ssl-certificate-key-file", metavar="FILE",
                   help="its private key (PEM)")

    w = p.add_argument_group("processes")
    w.add_argument("--embedded-mode", action="store_true",
                   help="run the application inside Apache's children instead of daemon processes")
    w.add_argument("--processes", type=positive, metavar="NUMBER",
                   help="application processes (default: 1)")
    w.add_argument("--threads", type=positive, default=5, metavar="NUMBER",
                   help="threads per application process (default: 5)")
    w.add_argument("--maximum-requests", type=non_negative, default=0, metavar="NUMBER",
                   help="restart a process after this many requests (default: 0, never)")
    w.add_argument("--request-timeout", type=non_negative, default=60, metavar="SECONDS",
                   help="a daemon process whose request runs this long is restarted (default: 60)")
    w.add_argument("--queue-timeout", type=non_negative, default=45, metavar="SECONDS",
                   help="a request waiting this long for a daemon thread is answered 504 (default: 45)")
    w.add_argument("--graceful-timeout", type=non_negative, default=15, metavar="SECONDS",
                   help="how long a restarting daemon process may finish its requests (default: 15)")

    g = p.add_argument_group("logging")
    g.add_argument("--log-level", default="warn", metavar="NAME",
                   choices=["emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"]
                   + [f"trace{i}" for i in range(1, 9)],
                   help="Apache's LogLevel (default: warn)")
    g.add_argument("--access-log", action="store_true",
                   help="write an access log (logs/access.log, or stdout with --log-to-terminal)")
    g.add_argument("--log-to-terminal", action="store_true",
                   help="error log to stderr (and the access log, if on, to stdout) instead of files")


def _fail(msg, status=2):
    print(f"{PROG}: error: " + str(msg).replace("\n", f"\n{PROG}: error: "), file=sys.stderr)
    return status


def resolve(args):
    """argparse namespace -> config.ServerOptions, with paths made absolute and checked."""
    errors = []
    app = args.app
    if args.application_type in ("script", "paste"):
        app = os.path.abspath(app)
        if not os.path.isfile(app):
            errors.append(f"{args.app}: no such file")
    elif not re.fullmatch(r"[A-Za-z_][\w.]*(:[A-Za-z_][\w.]*)?", app):
        errors.append(f"{app!r} is not a module name (pkg.mod or pkg.mod:callable)")
    if args.application_type == "paste":
        import importlib.util
        try:
            found = importlib.util.find_spec("paste.deploy") is not None
        except ImportError:
            found = False
        if not found:
            errors.append("--application-type paste needs PasteDeploy: pip install PasteDeploy")

    mount = args.mount_point
    if not mount.startswith("/") or any(c.isspace() for c in mount):
        errors.append(f"--mount-point must be a URL path starting with /, not {mount!r}")
    elif mount != "/":
        mount = mount.rstrip("/")

    working = os.path.abspath(args.working_directory or os.getcwd())
    if not os.path.isdir(working):
        errors.append(f"--working-directory {args.working_directory}: not a directory")

    aliases, alias_dirs = [], []
    for url, path in args.url_alias:
        if not url.startswith("/"):
            errors.append(f"--url-alias {url}: the URL must start with /")
        path = os.path.abspath(path)
        if not os.path.exists(path):
            errors.append(f"--url-alias {url} {path}: no such file or directory")
        aliases.append((url, path))
        alias_dirs.append(os.path.isdir(path))

    https = args.https_port
    certs = (args.ssl_certificate_file, args.ssl_certificate_key_file)
    if https:
        if https == args.port:
            errors.append("--https-port must differ from --port")
        for flag, path in zip(("--ssl-certificate-file", "--ssl-certificate-key-file"), certs):
            if not path:
                errors.append(f"--https-port needs {flag}")
            elif not os.path.isfile(path):
                errors.append(f"{flag} {path}: no such file")
    elif any(certs):
        errors.append("--ssl-certificate-file/--ssl-certificate-key-file need --https-port")
    if args.http2 and not os.path.exists(os.path.join(config.MODULES_DIR, "mod_http2.so")):
        errors.append(f"--http2 needs mod_http2, not found in {config.MODULES_DIR}")

    includes = [os.path.abspath(f) for f in args.include_file]
    errors += [f"--include-file {f}: no such file" for f in includes if not os.path.isfile(f)]
    errors += [f"--setenv {n}: not a variable name" for n, _ in args.setenv
               if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n)]
    if errors:
        raise server_root.SetupError("\n".join(errors))

    try:
        so = str(server_module())
    except ModuleNotFound as e:
        raise server_root.SetupError(str(e)) from None
    host_name = args.host or "localhost"
    root = args.server_root or f"/tmp/mod_wsgi_rs-{host_name}:{args.port}:{os.getuid()}"
    return config.ServerOptions(
        app=app, server_root=os.path.abspath(root), module_so=so,
        python_home=os.path.normpath(sys.prefix), working_directory=working,
        user=args.user, group=args.group, application_type=args.application_type,
        callable_object=args.callable_object, port=args.port, host=args.host,
        server_name=args.server_name, processes=args.processes, threads=args.threads,
        embedded_mode=args.embedded_mode, mount_point=mount, url_aliases=aliases,
        url_alias_is_dir=alias_dirs, python_paths=[os.path.abspath(p) for p in args.python_path],
        reload_on_changes=args.reload_on_changes, request_timeout=args.request_timeout,
        queue_timeout=args.queue_timeout, maximum_requests=args.maximum_requests,
        graceful_timeout=args.graceful_timeout, log_to_terminal=args.log_to_terminal,
        access_log=args.access_log, log_level=args.log_level, https_port=https,
        ssl_certificate_file=certs[0] and os.path.abspath(certs[0]),
        ssl_certificate_key_file=certs[1] and os.path.abspath(certs[1]),
        http2=args.http2, trust_proxy_headers=args.trust_proxy_header,
        trust_proxies=args.trust_proxy, server_status=args.server_status,
        include_files=includes, setenv=[tuple(s) for s in args.setenv],
        compress_responses=args.compress_responses,
    )


def summary(o, command):
    mode = ("embedded" if o.embedded_mode else "daemon") + \
        f" ({o.process_count} process{'es' if o.process_count > 1 else ''}, {o.threads} threads each)"
    lines = [
        f"Server URL         : {o.url}",
    ]
    if o.https_port:
        lines.append(f"Server URL (HTTPS) : https://{o.host_name}:{o.https_port}{o.mount_point}")
    lines += [
        f"Server Root        : {o.server_root}",
        f"Server Conf        : {os.path.join(o.server_root, 'httpd.conf')}",
        f"Error Log File     : {o.error_log} ({o.log_level})",
    ]
    if o.access_log:
        lines.append(f"Access Log File    : {o.access_log_file}")
    lines += [
        f"Operating Mode     : {mode}",
        f"Application        : {o.application_type} {o.app}",
        f"WSGI Handler       : {o.handler_path}",
        f"Apache Module      : {o.module_so}",
        f"Python Home        : {o.python_home}",
    ]
    if o.reload_on_changes:
        lines.append("Reload On Changes  : on")
    if command == "setup-server":
        ctl = os.path.join(o.server_root, "apachectl")
        lines += [f"Control Script     : {ctl}", "", f"Start the server with: {ctl} start",
                  f"Stop it with:          {ctl} stop"]
    return "\n".join(lines)


def _warn_unreadable(o):
    """Apache's children run as o.user: say so if they cannot read what they must."""
    if os.geteuid() != 0 or o.user == "root":
        return
    paths = [o.working_directory, *o.python_paths]
    if o.application_type != "module":
        paths.append(o.app)
    for path in paths:
        blocked = server_root.unreadable_by_others(path)
        if blocked:
            print(f"{PROG}: warning: {blocked} is not readable by others: the application runs "
                  f"as {o.user} and may fail to load {path} (chmod o+rX)", file=sys.stderr)


def apache_environ():
    """Apache's environment: the caller's, without what would redirect the Python inside it
    (WSGIPythonHome and python-path= decide that)."""
    env = dict(os.environ)
    for name in ("PYTHONHOME", "PYTHONPATH"):
        env.pop(name, None)
    return env


def cmd_server(args, command):
    try:
        o = resolve(args)
        _warn_unreadable(o)
        conf = server_root.write_server_root(o)
    except server_root.SetupError as e:
        return _fail(str(e))
    print(summary(o, command), flush=True)
    if command == "setup-server":
        return 0
    # Apache in the foreground replaces this process: Ctrl-C and SIGTERM reach it directly.
    argv = [config.HTTPD, "-f", str(conf), "-DFOREGROUND"]
    try:
        os.execve(config.HTTPD, argv, apache_environ())
    except OSError as e:
        return _fail(f"cannot run {config.HTTPD}: {e}", 1)


def cmd_module_config(args):
    print(f'LoadModule wsgi_module "{server_module()}"')
    print(f'WSGIPythonHome "{os.path.normpath(sys.prefix)}"')
    return 0


def cmd_module_location(args):
    print(server_module())
    return 0


def apxs_libexecdir():
    """Apache's module directory as apxs says (apache2-dev), else Debian's."""
    apxs = shutil.which("apxs") or shutil.which("apxs2")
    if apxs:
        try:
            out = subprocess.run([apxs, "-q", "LIBEXECDIR"], capture_output=True, text=True,
                                 timeout=10).stdout.strip()
            if out:
                return out
        except (OSError, subprocess.SubprocessError):
            pass
    return config.MODULES_DIR


def cmd_install_module(args):
    so = server_module()
    directory = Path(args.modules_directory or apxs_libexecdir())
    target = directory / f"mod_wsgi_rs-py{sys.version_info[0]}{sys.version_info[1]}.so"
    try:
        tmp = target.with_name(target.name + ".tmp")
        shutil.copyfile(so, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)  # a running Apache keeps its mapping of the old file
    except OSError as e:
        return _fail(f"cannot install into {directory}: {e}", 1)
    print(f'LoadModule wsgi_module "{target}"')
    print(f'WSGIPythonHome "{os.path.normpath(sys.prefix)}"')
    return 0


COMMANDS = {
    "setup-server": "write a ServerRoot (httpd.conf, apachectl, handler) for APP",
    "start-server": "setup-server, then run Apache in the foreground until Ctrl-C",
    "module-config": "print the LoadModule and WSGIPythonHome lines for a system Apache",
    "module-location": "print the path of the Apache module",
    "install-module": "copy the module into Apache's module directory and print the lines to use",
}


def build_parser():
    """The top-level parser and {command: its parser}."""
    parser = Parser(prog=PROG, description="Run a WSGI application in Apache with mod_wsgi_rs; "
                    "mod_wsgi-express's commands and options.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands = {}
    for name, help_text in COMMANDS.items():
        usage = "%(prog)s APP [options]" if name.endswith("-server") else None
        p = commands[name] = sub.add_parser(name, help=help_text, description=help_text,
                                            usage=usage)
        if name in ("setup-server", "start-server"):
            add_server_options(p)
        elif name == "install-module":
            p.add_argument("--modules-directory", metavar="DIRECTORY",
                           help="where to copy the module (default: apxs -q LIBEXECDIR, "
                                f"else {config.MODULES_DIR})")
    return parser, commands


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, commands = build_parser()
    if not argv or argv[0].startswith("-"):
        parser.parse_args(argv)  # --help, --version, or an error
        parser.print_help(sys.stderr)
        return 2
    command = argv[0]
    if command not in commands:
        close = difflib.get_close_matches(command, list(commands), n=1)
        hint = f"; did you mean {close[0]}?" if close else f" (one of: {', '.join(commands)})"
        parser.error(f"unknown command {command}{hint}")
    # The command's own parser, so that an unknown option is compared with its options.
    args = commands[command].parse_args(argv[1:])
    try:
        if command in ("setup-server", "start-server"):
            return cmd_server(args, command)
        return {"module-config": cmd_module_config, "module-location": cmd_module_location,
                "install-module": cmd_install_module}[command](args)
    except ModuleNotFound as e:
        return _fail(str(e), 1)


if __name__ == "__main__":
    sys.exit(main())
