"""Writes a ServerRoot: httpd.conf, apachectl, the handler .wsgi, the reload watcher, logs/.

Apache's children and the daemon processes run as User (www-data when started as root),
so everything written here is world-readable and the directories traversable.
"""

import os
import pwd
import grp
import shutil
from pathlib import Path

from . import config
from .handler import render_handler, render_resources


class SetupError(Exception):
    """The ServerRoot cannot be written as asked."""


def _write(path, text, mode):
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)  # never a half-written file for an Apache that is running


def _ids(user, group):
    def lookup(name, db, field):
        if name.startswith("#"):
            return int(name[1:])
        try:
            return getattr(db(name), field)
        except KeyError:
            raise SetupError(f"no such {'user' if db is pwd.getpwnam else 'group'}: {name}") from None
    return lookup(user, pwd.getpwnam, "pw_uid"), lookup(group, grp.getgrnam, "gr_gid")


def make_root(path):
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    st = path.stat()
    if st.st_uid != os.geteuid():
        # /tmp is shared: do not write a config into a directory someone else controls.
        raise SetupError(f"{path} exists and belongs to uid {st.st_uid}, not to you; "
                         f"remove it or pick another --server-root")
    os.chmod(path, 0o755)
    return path


def write_server_root(o):
    """Write everything for `o` (a config.ServerOptions). Returns the httpd.conf path."""
    uid, gid = _ids(o.user, o.group)
    root = make_root(o.server_root)
    for sub in ("logs", "htdocs"):
        (root / sub).mkdir(exist_ok=True)
        os.chmod(root / sub, 0o755)
    Path(o.logs_dir).mkdir(parents=True, exist_ok=True)
    eggs = Path(o.eggs_dir)
    eggs.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:  # the daemon processes (as User) may unpack eggs there
        os.chown(eggs, uid, gid)
    if o.static_files and o.mount_point != "/":
        # the mount point's <Directory> must exist for its fallback rule to run
        Path(o.docroot, o.mount_point.lstrip("/")).mkdir(parents=True, exist_ok=True)
    if o.handler_scripts:
        _write(o.resource_path, render_resources(o), 0o644)

    _write(o.handler_path, render_handler(o), 0o644)
    if o.telemetry_service:
        _write(o.telemetry_service, config.render_telemetry_service(o), 0o644)
        sock_dir = Path(o.telemetry_target[len("unix:"):]).parent
        sock_dir.mkdir(exist_ok=True)
        os.chmod(sock_dir, 0o755)
        if os.geteuid() == 0:
            user = o.service_users.get("telemetry", o.user)
            group = o.service_groups.get("telemetry", o.group)
            os.chown(sock_dir, *_ids(user, group))
    if o.reload_on_changes:
        shutil.copyfile(Path(__file__).with_name("reload.py"), o.reloader_path)
        os.chmod(o.reloader_path, 0o644)
        # The watcher runs as the daemon user and sets the handler's mtime: it must own it.
        if os.geteuid() == 0:
            os.chown(o.handler_path, uid, gid)

    conf = root / "httpd.conf"
    _write(conf, config.render(o), 0o644)
    _write(root / "apachectl", config.render_apachectl(o), 0o755)
    _write(root / "envvars", config.render_envvars(o), 0o644)
    return conf


def unreadable_by_others(path):
    """The first component of `path` that a user other than its owner cannot reach (a
    directory without o+x, or the file without o+r), or None."""
    path = Path(path).resolve()
    for parent in reversed(path.parents):
        try:
            if not parent.stat().st_mode & 0o001:
                return parent
        except OSError:
            return parent
    try:
        mode = path.stat().st_mode
    except OSError:
        return path
    need = 0o005 if path.is_dir() else 0o004
    return None if mode & need == need else path
