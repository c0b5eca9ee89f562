"""`python -m harness run`: serve the conf.d example in the foreground.

Used by `make run` (run with the venv's python and tests/ on sys.path)."""

import argparse
import os
import sys

from .apache import APACHE_BIN, APACHE_ENV, port_open
from .example import prepare_example


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m harness")
    sub = ap.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="serve the conf.d example with apache2 -DFOREGROUND")
    gen = sub.add_parser("generate", help="only write the runtime dir and httpd.conf")
    for p in (run, gen):
        p.add_argument("--dir", default="/tmp/mod_wsgi_rs-run",
                       help="runtime directory (default: %(default)s)")
        p.add_argument("--port", type=int, default=8000)
        p.add_argument("--venv", default=None, help="WSGIPythonHome (default: this venv)")
        p.add_argument("--so", default=None, help="module .so (default: target/release)")
        p.add_argument("--mpm", default="event", choices=["event", "worker", "prefork"])
        p.add_argument("--log-level", default="info")
        p.add_argument("--host", default="127.0.0.1", help="Listen address (default: %(default)s)")
    gen.add_argument("--logs-to-console", action="store_true",
                     help="ErrorLog /dev/stderr, CustomLog /dev/stdout (as `run` does)")
    args = ap.parse_args(argv)
    if args.so:
        os.environ["MOD_WSGI_RS_SO"] = os.path.abspath(args.so)
    if args.cmd == "run" and port_open(args.port):
        sys.exit(f"127.0.0.1:{args.port} is already in use (choose another: make run PORT=...)")
    kw = dict(mpm=args.mpm, log_level=args.log_level, listen_host=args.host)
    if args.cmd == "run" or args.logs_to_console:
        kw.update(error_log="/dev/stderr", access_log="/dev/stdout")
    srv = prepare_example(root=args.dir, port=args.port, venv=args.venv, **kw)
    print(f"mod_wsgi_rs example in {srv.root} (config {srv.conf})", flush=True)
    if args.cmd == "generate":
        return
    base = f"http://127.0.0.1:{args.port}"
    print(f"  web app:   {base}/\n  REST API:  {base}/api/v1/items\n"
          f"  edit {srv.example_dir}/app/web_app/views.py, then "
          f"touch {srv.example_dir}/wsgi/web_app.wsgi to reload\n"
          f"Ctrl-C stops Apache.", flush=True)
    os.execve(APACHE_BIN, [APACHE_BIN, "-DFOREGROUND", "-f", str(srv.conf)], APACHE_ENV)


if __name__ == "__main__":
    main()
