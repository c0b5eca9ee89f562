"""argparse namespace -> config.ServerOptions: paths made absolute, files checked, defaults
that depend on this machine (locale, MPM, mod_cgid) filled in. Errors are collected and
raised together as one SetupError."""

import importlib.util
import locale as _locale
import os
import re
import sys

from . import ModuleNotFound, config, server_module
from .server_root import SetupError

BUFFER_MINIMUMS = {"send_buffer_size": 512, "receive_buffer_size": 512,
                   "header_buffer_size": 8192, "response_buffer_size": 65536}


def default_locale():
    """mod_wsgi-express's rule: the current locale, C/POSIX made en_US.UTF-8 or C.UTF-8."""
    # the name as set (getlocale() would turn C.UTF-8 into en_US.UTF-8, which may not exist)
    name = _locale.setlocale(_locale.LC_CTYPE) or "C"
    if name.upper() in ("C", "POSIX"):
        old = _locale.setlocale(_locale.LC_ALL)
        for candidate in ("en_US.UTF-8", "C.UTF-8"):
            try:
                _locale.setlocale(_locale.LC_ALL, candidate)
                name = candidate
                break
            except _locale.Error:
                pass
        _locale.setlocale(_locale.LC_ALL, old)
    return name


def _mpm(preferred, modules_dir):
    for name in ("event", "worker", "prefork"):
        if (not preferred or name in preferred) and os.path.exists(
                os.path.join(modules_dir, f"mod_mpm_{name}.so")):
            return name
    return None


def _abs(path):
    return os.path.abspath(path) if path else path


def resolve(args):
    errors = []
    app = args.entry_point or args.app
    if not app:
        raise SetupError("no application: give APP (a WSGI script, or see --application-type)")
    if args.application_type in ("script", "paste"):
        app = os.path.abspath(app)
        if not os.path.isfile(app):
            errors.append(f"{args.entry_point or args.app}: no such file")
    elif not re.fullmatch(r"[A-Za-z_][\w.]*(:[A-Za-z_][\w.]*)?", app):
        errors.append(f"{app!r} is not a module name (pkg.mod or pkg.mod:callable)")
    if args.application_type == "paste":
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

    cert, key = args.ssl_certificate_file, args.ssl_certificate_key_file
    if args.ssl_certificate:
        cert, key = args.ssl_certificate + ".crt", args.ssl_certificate + ".key"
    https = args.https_port
    extra_certs = [("--ssl-ca-certificate-file", args.ssl_ca_certificate_file),
                   ("--ssl-certificate-chain-file", args.ssl_certificate_chain_file)]
    if https:
        if https == args.port:
            errors.append("--https-port must differ from --port")
        for flag, path in [("--ssl-certificate-file", cert), ("--ssl-certificate-key-file", key)]:
            if not path:
                errors.append(f"--https-port needs {flag} (or --ssl-certificate)")
            elif not os.path.isfile(path):
                errors.append(f"{flag} {path}: no such file")
        errors += [f"{flag} {path}: no such file" for flag, path in extra_certs
                   if path and not os.path.isfile(path)]
    elif cert or key or any(p for _, p in extra_certs):
        errors.append("--https-port must be given with the SSL certificate options")
    elif args.https_only:
        errors.append("--https-only needs --https-port")
    modules_dir = args.modules_directory
    if args.http2 and not os.path.exists(os.path.join(modules_dir, "mod_http2.so")):
        errors.append(f"--http2 needs mod_http2, not found in {modules_dir}")
    mpm = _mpm(args.server_mpm, modules_dir)
    if mpm is None:
        errors.append(f"no MPM ({', '.join(args.server_mpm) or 'event, worker, prefork'}) "
                      f"in {modules_dir}")

    includes = [os.path.abspath(f) for f in args.include_file]
    errors += [f"--include-file {f}: no such file" for f in includes if not os.path.isfile(f)]
    errors += [f"--setenv {n}: not a variable name" for n, _ in args.setenv
               if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n)]
    errors += [f"--passenv {n}: not a variable name" for n in args.passenv
               if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n)]
    for name, minimum in BUFFER_MINIMUMS.items():
        value = getattr(args, name)
        if value and value < minimum:
            errors.append(f"--{name.replace('_', '-')} must be 0 or at least {minimum}, not {value}")

    scripts = {}
    for flag in ("host_access_script", "auth_user_script", "auth_group_script", "rewrite_rules",
                 "envvars_script"):
        path = _abs(getattr(args, flag))
        if path and not os.path.isfile(path):
            errors.append(f"--{flag.replace('_', '-')} {path}: no such file")
        scripts[flag] = path
    if args.auth_group_script and not args.auth_user_script:
        errors.append("--auth-group-script needs --auth-user-script")
    document_root = _abs(args.document_root)
    if document_root and not os.path.isdir(document_root):
        errors.append(f"--document-root {document_root}: not a directory")
    handlers = [(ext, os.path.abspath(path)) for ext, path in args.add_handler]
    errors += [f"--add-handler {ext} {path}: no such file" for ext, path in handlers
               if not os.path.isfile(path)]
    services = [(name, os.path.abspath(path)) for name, path in args.service_script]
    errors += [f"--service-script {name} {path}: no such file" for name, path in services
               if not os.path.isfile(path)]
    telemetry_target, telemetry_service = args.telemetry_service, None
    errors += _telemetry_errors(args, services)
    if args.enable_telemetry and not errors:
        # as mod_wsgi-express: the receiver runs as service 'telemetry' (threads=0, so it does
        # not report to itself) on a socket in the server root
        root = _server_root(args)
        # in a directory of its own that the service's user owns: the receiver creates the
        # socket, and the server root belongs to whoever ran the runner (root, say)
        telemetry_target = "unix:" + os.path.join(root, "telemetry", "telemetry.sock")
        telemetry_service = os.path.join(root, "telemetry-service.py")
        services.append(("telemetry", telemetry_service))
    for status, _ in args.error_document:
        if not re.fullmatch(r"[1-5]\d\d", status):
            errors.append(f"--error-document {status}: not an HTTP status")
    for url, target in args.proxy_mount_points:
        if not url.startswith("/"):
            errors.append(f"--proxy-mount-point {url}: the URL path must start with /")
    if args.reload_on_changes and args.disable_reloading:
        errors.append("--reload-on-changes restarts by touching the handler, which "
                      "--disable-reloading turns off: give one of them")
    if args.rotate_logs and not os.access(args.rotatelogs_executable, os.X_OK):
        errors.append(f"--rotate-logs: {args.rotatelogs_executable} is not executable "
                      "(apt-get install apache2-utils, or --rotatelogs-executable)")
    if errors:
        raise SetupError("\n".join(errors))

    try:
        so = str(server_module())
    except ModuleNotFound as e:
        raise SetupError(str(e)) from None
    host_name = args.host or "localhost"
    root = _server_root(args)
    locale = args.locale or args.lang or default_locale()
    httpd = args.httpd_executable
    return config.ServerOptions(
        app=app, server_root=root, module_so=so,
        python_home=os.path.normpath(sys.prefix), working_directory=working,
        user=args.user, group=args.group, application_type=args.application_type,
        callable_object=args.callable_object, application_group=args.application_group,
        process_group_name=args.process_group, port=args.port, host=args.host,
        server_name=args.server_name, server_aliases=args.server_alias,
        allow_localhost=args.allow_localhost, processes=args.processes, threads=args.threads,
        embedded_mode=args.embedded_mode, mount_point=mount, url_aliases=aliases,
        url_alias_is_dir=alias_dirs, python_paths=[os.path.abspath(p) for p in args.python_path],
        python_eggs=_abs(args.python_eggs), python_warnings=args.python_warnings,
        lang=locale, locale=locale,
        reload_on_changes=args.reload_on_changes, disable_reloading=args.disable_reloading,
        orphan_interpreter=args.orphan_interpreter,
        **{name: getattr(args, name) for name in (
            "request_timeout", "queue_timeout", "maximum_requests", "graceful_timeout",
            "startup_timeout", "shutdown_timeout", "deadlock_timeout", "connect_timeout",
            "socket_timeout", "restart_interval", "eviction_timeout", "inactivity_timeout",
            "interrupt_timeout", "cpu_time_limit", "daemon_backlog", "send_buffer_size",
            "receive_buffer_size", "header_buffer_size", "response_buffer_size",
            "response_socket_timeout", "response_flush_delay", "switch_interval",
            "ignore_activity", "max_clients", "initial_workers", "minimum_spare_workers",
            "maximum_spare_workers", "limit_request_body", "server_backlog",
            "keep_alive_timeout", "header_timeout", "header_max_timeout", "header_min_rate",
            "body_timeout", "body_max_timeout", "body_min_rate", "map_head_to_get",
            "chunked_request", "enable_sendfile", "verbose_debugging", "server_metrics",
            "passenv", "directory_index", "directory_listing", "allow_override", "with_cgi",
            "error_override", "proxy_timeout", "auth_type", "auth_group", "log_to_terminal",
            "access_log", "access_log_format", "access_log_name", "error_log_format",
            "error_log_name", "startup_log", "startup_log_name", "rotate_logs", "max_log_size",
            "rotatelogs_executable", "log_level", "ssl_environment", "https_only",
            "hsts_policy", "http2", "server_status", "compress_responses", "process_name",
            "shell_executable")},
        socket_prefix=_abs(args.socket_prefix), mpm=mpm, pid_file=_abs(args.pid_file),
        mime_types=os.path.abspath(args.mime_types), modules_directory=modules_dir,
        httpd_executable=httpd,
        document_root=document_root, rewrite_rules=scripts["rewrite_rules"],
        cgid=os.path.exists(os.path.join(modules_dir, "mod_cgid.so")),
        handler_scripts=handlers, error_documents=[tuple(e) for e in args.error_document],
        proxy_mount_points=[tuple(p) for p in args.proxy_mount_points],
        proxy_virtual_hosts=[tuple(p) for p in args.proxy_virtual_host],
        host_access_script=scripts["host_access_script"],
        auth_user_script=scripts["auth_user_script"],
        auth_group_script=scripts["auth_group_script"],
        envvars_script=scripts["envvars_script"],
        telemetry_target=telemetry_target, telemetry_interval=args.telemetry_interval,
        slow_requests=args.slow_requests, telemetry_options=list(args.telemetry_options),
        telemetry_service=telemetry_service, telemetry_ui_port=args.telemetry_ui_port,
        service_scripts=services, service_users=dict(args.service_user),
        service_groups=dict(args.service_group), service_log_files=dict(args.service_log_file),
        log_directory=_abs(args.log_directory),
        https_port=https, ssl_certificate_file=_abs(cert), ssl_certificate_key_file=_abs(key),
        ssl_certificate_chain_file=_abs(args.ssl_certificate_chain_file),
        ssl_ca_certificate_file=_abs(args.ssl_ca_certificate_file),
        ssl_verify_client_urls=args.ssl_verify_client,
        trust_proxy_headers=args.trust_proxy_header, trust_proxies=args.trust_proxy,
        include_files=includes, setenv=[tuple(s) for s in args.setenv],
    )


def _telemetry_errors(args, services):
    """mod_wsgi-express 6's checks of the telemetry flags, in its words."""
    errors = []
    if args.telemetry_service and not args.telemetry_service.startswith("unix:"):
        errors.append("--telemetry-service must be 'unix:/path' (remote 'udp:host:port' targets are no longer supported)")
    if args.slow_requests is not None:
        if args.slow_requests < 0:
            errors.append("--slow-requests threshold must be non-negative")
        elif not (args.telemetry_service or args.enable_telemetry):
            errors.append("--slow-requests requires --telemetry-service")
    if args.enable_telemetry:
        if args.telemetry_service:
            errors.append("--enable-telemetry and --telemetry-service are mutually exclusive: --enable-telemetry "
                          "generates an ingester service and points the WSGI processes at it, so an explicit "
                          "telemetry target would conflict.")
        if importlib.util.find_spec("mod_wsgi") is None or not _has_receiver():
            errors.append("--enable-telemetry requires the mod_wsgi-telemetry package: install it with "
                          "'pip install mod_wsgi-telemetry'.")
        if any(name == "telemetry" for name, _ in services):
            errors.append("--enable-telemetry generates a service named 'telemetry'; rename the conflicting "
                          "--service-script entry or drop --enable-telemetry.")
    return errors


def _has_receiver():
    try:
        return importlib.util.find_spec("mod_wsgi.telemetry.server") is not None
    except ImportError:
        return False


def _server_root(args):
    host_name = args.host or "localhost"
    return os.path.abspath(args.server_root or f"/tmp/mod_wsgi_rs-{host_name}:{args.port}:{os.getuid()}")
