"""The seeds' scenario (conf.d/example.conf, daemon mode) while clients keep
coming: edit a submodule of the web app, touch web_app.wsgi, repeat; no
request fails, none is answered by the old code once the touch is done.
(Its own Apache: tests/test_seed_scenario.py edits the same files.)"""

import os
import re
import time

import pytest

import harness
from harness import daemon as hd

EDITS = 3
RX = re.compile(rb"<h1>Welcome to (?:version (\d+) of )?the reporting app</h1>")


def bump_mtime(path):
    st = os.stat(path)
    t = max(time.time(), st.st_mtime + 1)
    os.utime(path, (t, t))


def version_of(body):
    m = RX.search(body)
    if not m:
        return None
    return int(m.group(1)) if m.group(1) else 1


@pytest.mark.slow
def test_touch_with_changed_submodule_under_concurrent_clients(apache):
    site = apache.adopt(harness.prepare_example())
    assert version_of(hd.get(site.port, "/")[2]) == 1
    views = site.example_dir / "app/web_app/views.py"
    script = site.example_dir / "wsgi/web_app.wsgi"
    original = views.read_text()
    assert 'GREETING = "Welcome to the reporting app"' in original
    mark = site.log_mark()
    loop = hd.ClientLoop(site.port, "/", threads=8, timeout=30).start()
    touched = {}
    try:
        time.sleep(1.5)
        for k in range(2, EDITS + 2):
            tmp = views.with_suffix(".tmp")
            tmp.write_text(original.replace(
                'GREETING = "Welcome to the reporting app"',
                f'GREETING = "Welcome to version {k} of the reporting app"'))
            tmp.chmod(0o644)
            tmp.replace(views)
            bump_mtime(views)
            bump_mtime(script)
            touched[k] = time.monotonic()
            time.sleep(2.0)
        time.sleep(1.0)
    finally:
        results = loop.stop()
    failed = [r for r in results if r[2] != 200 or version_of(r[3]) is None]
    stale = []
    for sent, done, status, body in results:
        v = version_of(body) if status == 200 else None
        if v is None:
            continue
        expected = max([k for k, t in touched.items() if t <= sent], default=1)
        if v < expected:
            stale.append((round(sent, 3), v, expected))
    versions = sorted({version_of(b) for _, _, s, b in results if s == 200} - {None})
    restarts = len(re.findall(r"restarting daemon process group 'reporting_app'",
                              site.log_since(mark)))
    print(f"seed scenario, {EDITS} edits+touches under 8 client threads: {len(results)} requests, "
          f"{len(failed)} failed, {len(stale)} stale; versions {versions}; "
          f"{restarts} pool restarts logged")
    assert not failed, [(r[2], r[3][:200]) for r in failed[:5]]
    assert not stale, stale[:10]
    assert versions == list(range(1, EDITS + 2))
    # the REST API (same pool) is still fine
    status, _, body = hd.get(site.port, "/api/v1/items")
    assert status == 200 and b"widget" in body
