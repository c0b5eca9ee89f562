"""The ServerRoot's control script (apachectl) and its envvars file. Pure: options -> text."""

import os


APACHECTL = """\
#!{shell}
# Control script for the Apache in this ServerRoot (written by mod_wsgi_rs-express).
#   apachectl start|stop|restart|graceful|graceful-stop|configtest
# Extra arguments go to Apache (e.g. `apachectl start -DFOREGROUND`).

HTTPD={httpd}
CONF={conf}
HTTPD_ARGS={args}
PROCESS_NAME={process_name}

# A PYTHONHOME/PYTHONPATH of the calling shell must not reach the Python inside Apache:
# WSGIPythonHome and python-path= say which Python and path it uses.
unset PYTHONHOME PYTHONPATH
{locale}
# --envvars-script (sourced by {envvars}): more environment for Apache.
if [ -f {envvars} ]; then
    . {envvars}
fi

cd {working} || exit 1

cmd="$1"
[ $# -gt 0 ] && shift
case "$cmd" in
    start|stop|restart|graceful|graceful-stop)
        {exec} "$HTTPD" -f "$CONF" $HTTPD_ARGS -k "$cmd" "$@" ;;
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
    startup = o.startup_log_file
    locale = ""
    if o.lang or o.locale:
        locale = (f"\n# --locale: the locale of Apache and the daemon processes.\n"
                  f"LANG={sh_quote(o.lang or o.locale)}\nLC_ALL={sh_quote(o.locale or o.lang)}\n"
                  "export LANG LC_ALL\n")
    # `exec -a` (bash, not POSIX sh) names Apache's parent process (--process-name).
    bash = os.path.basename(o.shell_executable) == "bash"
    return APACHECTL.format(
        shell=o.shell_executable, httpd=sh_quote(o.httpd_executable),
        conf=sh_quote(os.path.join(o.server_root, "httpd.conf")),
        args=sh_quote(f"-E {startup}" if startup else ""),
        process_name=sh_quote(o.process_name or ""),
        locale=locale, envvars=sh_quote(os.path.join(o.server_root, "envvars")),
        working=sh_quote(o.working_directory),
        exec='exec -a "$PROCESS_NAME"' if bash and o.process_name else "exec")


def render_envvars(o):
    """SERVER_ROOT/envvars, sourced by apachectl: sources --envvars-script, if any."""
    text = "# Sourced by apachectl before Apache starts (mod_wsgi_rs-express).\n"
    if o.envvars_script:
        text += f". {sh_quote(o.envvars_script)}\n"
    return text
