"""`mod_wsgi_rs-express`: mod_wsgi-express 6's commands, for mod_wsgi_rs and Debian's Apache.

    mod_wsgi_rs-express start-server app.wsgi --port 8080
    mod_wsgi_rs-express setup-server app.wsgi --server-root /srv/site && /srv/site/apachectl start
    mod_wsgi_rs-express module-config      # LoadModule + WSGIPythonHome for a system Apache
"""

import argparse
import difflib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from . import ModuleNotFound, __version__, config, server_module, server_root
from .flags import NOT_SUPPORTED, add_server_options, default_group, default_user  # noqa: F401
from .resolve import resolve  # noqa: F401  (tests and callers use cli.resolve)

PROG = "mod_wsgi_rs-express"

# mod_wsgi-express 6 options this runner does not implement: {flag: why}.
MOD_WSGI_EXPRESS_ONLY = NOT_SUPPORTED


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
                    self.error(f"{name} is a mod_wsgi-express option that {PROG} does not "
                               f"support: {MOD_WSGI_EXPRESS_ONLY[name]}")
                close = difflib.get_close_matches(name, self.long_options(), n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]}?" if close else f" (see {self.prog} --help)"
                self.error(f"unknown option {name}{hint}")
        if extra:
            self.error(f"unexpected argument {extra[0]!r}")
        return ns

    def error(self, message):
        # One line and a pointer to --help: the full usage of ~40 options buries the message.
        self.exit(2, f"{self.prog}: error: {message}\n(see {self.prog} --help)\n")


def _fail(msg, status=2):
    print(f"{PROG}: error: " + str(msg).replace("\n", f"\n{PROG}: error: "), file=sys.stderr)
    return status


def summary(o, command):
    mode = ("embedded" if o.embedded_mode else "daemon") + \
        f" ({o.process_count} process{'es' if o.process_count > 1 else ''}, {o.threads} threads each)"
    lines = [
        f"Server URL         : {o.url}",
    ]
    if o.https_port:
        lines.append(f"Server URL (HTTPS) : https://{o.server_name or o.host_name}:{o.https_port}{o.mount_point}")
    if o.server_status:
        lines.append(f"Server Status      : http://{o.server_name or o.host_name}:{o.port}/server-status")
    lines += [
        f"Server Root        : {o.server_root}",
        f"Server Conf        : {os.path.join(o.server_root, 'httpd.conf')}",
        f"Error Log File     : {o.error_log} ({o.log_level})",
    ]
    if o.access_log:
        lines.append(f"Access Log File    : {o.access_log_file}")
    if o.startup_log:
        lines.append(f"Startup Log File   : {o.startup_log_file}")
    if o.static_files:
        lines.append(f"Document Root      : {o.docroot}")
    lines += [
        f"Operating Mode     : {mode}",
        f"Application        : {o.application_type} {o.app}",
        f"WSGI Handler       : {o.handler_path}",
        f"Apache Module      : {o.module_so}",
        f"Python Home        : {o.python_home}",
    ]
    if o.reload_on_changes:
        lines.append("Reload On Changes  : on")
    if not o.embedded_mode:
        lines += [f"Request Timeout    : {o.request_timeout} (seconds)",
                  f"Queue Backlog      : {o.daemon_backlog} (connections)",
                  f"Queue Timeout      : {o.queue_timeout} (seconds)"]
    lines += [f"Server Backlog     : {o.server_backlog} (connections)",
              f"Locale Setting     : {o.locale}"]
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
    if command == "setup-server" or args.setup_only:
        return 0
    # Apache in the foreground replaces this process (apachectl execs it, as
    # mod_wsgi-express's does, after --envvars-script and --locale): Ctrl-C and SIGTERM
    # reach it directly.
    ctl = os.path.join(o.server_root, "apachectl")
    try:
        os.execve(ctl, [ctl, "start", "-DFOREGROUND"], apache_environ())
    except OSError as e:
        return _fail(f"cannot run {ctl}: {e}", 1)


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
