"""Reloading a package-based app: edit a submodule, touch the .wsgi script.

mod_wsgi re-executes a touched script but keeps the modules it imported, so an
edited views.py is still served stale. mod_wsgi_rs also reloads the
application's own modules (reference §6, "better than mod_wsgi"). Checked in
every child of every MPM, in the main interpreter and in a sub-interpreter.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

PKG = "@APPS@/reloadpkg"
CONF = f"WSGIScriptAlias /app {PKG}/webpkg.wsgi\n"

# A fixed set of children (none started or reaped during the test), each with
# few workers, so concurrent slow requests reach every child.
MPM_CONFIG = {
    "event": """\
<IfModule mpm_event_module>
    StartServers            2
    ServerLimit             2
    MinSpareThreads         1
    MaxSpareThreads         10
    ThreadLimit             5
    ThreadsPerChild         5
    MaxRequestWorkers       10
    MaxConnectionsPerChild  0
</IfModule>
""",
    "worker": """\
<IfModule mpm_worker_module>
    StartServers            2
    ServerLimit             2
    MinSpareThreads         1
    MaxSpareThreads         10
    ThreadLimit             5
    ThreadsPerChild         5
    MaxRequestWorkers       10
    MaxConnectionsPerChild  0
</IfModule>
""",
    "prefork": """\
<IfModule mpm_prefork_module>
    StartServers            3
    ServerLimit             3
    MinSpareServers         1
    MaxSpareServers         3
    MaxRequestWorkers       3
    MaxConnectionsPerChild  0
</IfModule>
""",
}
SLOTS = {"event": 10, "worker": 10, "prefork": 3}


def start(apache, mpm, group, extra=""):
    srv = apache(CONF + extra, mpm=mpm, mpm_config=MPM_CONFIG[mpm],
                 global_application_group=(group == "global"), start=False)
    # www-data may write byte-code caches next to the package, as on a
    # typical development box: a stale __pycache__/views.*.pyc is part of
    # what a reload has to get right.
    os.chmod(srv.apps / "reloadpkg" / "mwrs_webpkg", 0o777)
    return srv.start()


def get(srv, sleep=None):
    # a new connection per request: keep-alive would pin a client to a child
    r = requests.get(srv.url("/app/" + (f"?sleep={sleep}" if sleep else "")), timeout=30)
    assert r.status_code == 200, (r.status_code, r.text[:500])
    return r.text, int(r.headers["X-Pid"])


def spread(srv, n, slots, sleep=0.2):
    """n concurrent slow requests; [(body, pid)]."""
    with ThreadPoolExecutor(max_workers=slots) as pool:
        return list(pool.map(lambda _: get(srv, sleep), range(n)))


def warm_up(srv, slots):
    """Until every child has served the app (and so loaded v1)."""
    children = srv.child_pids()
    assert children, "no Apache children"
    seen = set()
    for _ in range(10):
        results = spread(srv, slots * 2, slots)
        assert {body for body, _ in results} == {"v1"}, results
        seen |= {pid for _, pid in results}
        if children <= seen:
            return children
    pytest.fail(f"warm-up reached children {sorted(seen)}, not all of {sorted(children)}")


def edit_views(srv, old, new):
    """Edit views.py in place (same length), keeping its mtime within the same
    second: the byte-code cache written for the old text then still looks
    valid to Python's import system (it checks whole seconds and size)."""
    views = srv.apps / "reloadpkg" / "mwrs_webpkg" / "views.py"
    st = os.stat(views)
    text = views.read_text()
    assert f'"{old}"' in text
    views.write_text(text.replace(f'"{old}"', f'"{new}"'))
    second, frac = divmod(st.st_mtime_ns, 1_000_000_000)
    mtime = second * 1_000_000_000 + (frac + 500_000_000) % 1_000_000_000
    os.utime(views, ns=(mtime, mtime))


def touch(path):
    os.utime(path, None)  # `touch`: now


@pytest.mark.parametrize("group", ["global", "sub-interpreter"])
@pytest.mark.parametrize("mpm", ["event", "worker", "prefork"])
def test_edited_submodule_is_served_after_touch(apache, mpm, group):
    srv = start(apache, mpm, group)
    slots = SLOTS[mpm]
    children = warm_up(srv, slots)
    pycache = srv.apps / "reloadpkg" / "mwrs_webpkg" / "__pycache__"
    assert any(p.name.startswith("views.") for p in pycache.glob("*.pyc")), \
        "expected Apache to have written a byte-code cache for views.py"

    edit_views(srv, "v1", "v2")
    touch(srv.apps / "reloadpkg" / "webpkg.wsgi")

    results = spread(srv, 50, slots, sleep=0.05)
    # make sure every child answered at least once after the change
    for _ in range(10):
        if children <= {pid for _, pid in results}:
            break
        results += spread(srv, slots * 2, slots, sleep=0.2)
    stale = [(body, pid) for body, pid in results if body != "v2"]
    assert not stale, f"{len(stale)} of {len(results)} responses not 'v2': {stale[:10]}"
    assert children <= {pid for _, pid in results}, \
        f"children {sorted(children)} vs answered {sorted({p for _, p in results})}"
    assert srv.child_pids() == children, "children were replaced (crash?)"
    log = srv.error_log()
    assert "Reloading WSGI script" in log
    assert not srv.crash_lines()


def test_no_reload_when_script_reloading_is_off(apache):
    srv = start(apache, "event", "sub-interpreter", extra="WSGIScriptReloading Off\n")
    children = warm_up(srv, SLOTS["event"])
    edit_views(srv, "v1", "v2")
    touch(srv.apps / "reloadpkg" / "webpkg.wsgi")
    results = spread(srv, 20, SLOTS["event"], sleep=0.05)
    assert {body for body, _ in results} == {"v1"}, results
    assert srv.child_pids() == children
    assert "Reloading WSGI script" not in srv.error_log()
