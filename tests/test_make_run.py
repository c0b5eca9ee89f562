"""`make run`, the README's first command: the conf.d example served through
mod_wsgi_rs-express (both apps, Authorization passed, reloading on an edit)."""
import os
import signal
import subprocess
import tempfile
import time

import requests

import harness


def test_make_run_serves_the_example_and_reloads_an_edit():
    port = harness.free_port()
    run_dir = os.path.join(tempfile.mkdtemp(prefix="mod_wsgi_rs-make-run-"), "run")
    os.chmod(os.path.dirname(run_dir), 0o755)
    env = dict(os.environ)
    env.pop("MOD_WSGI_RS_SO", None)
    proc = subprocess.Popen(["make", "--no-print-directory", "run", f"PORT={port}", f"RUN_DIR={run_dir}"],
                            cwd=harness.REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        deadline = time.time() + 120
        while not harness.port_open(port):
            assert proc.poll() is None and time.time() < deadline, proc.stdout.read()[-3000:]
            time.sleep(0.3)
        base = f"http://127.0.0.1:{port}"
        page = requests.get(base + "/", timeout=30)
        assert page.status_code == 200 and "<html" in page.text
        items = requests.get(base + "/api/v1/items", timeout=30).json()
        assert [i["name"] for i in items["items"]][:1] == ["widget"]
        who = requests.get(base + "/api/v1/whoami", auth=("alice", "secret"), timeout=30).json()
        assert who["user"] == "alice"
        views = os.path.join(run_dir, "example", "app", "web_app", "views.py")
        with open(views) as f:
            source = f.read()
        with open(views, "w") as f:
            f.write(source.replace("Welcome to the reporting app", "Edited by the test"))
        deadline = time.time() + 30
        while "Edited by the test" not in requests.get(base + "/", timeout=30).text:
            assert time.time() < deadline, "the edit was not picked up"
            time.sleep(0.3)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    deadline = time.time() + 15
    while harness.port_open(port) and time.time() < deadline:
        time.sleep(0.2)
    assert not harness.port_open(port)
