"""touch wsgi.py gives fresh code for a real Django project (Django from PyPI), in
embedded and daemon mode.

Django imports its URLconf and views at the first request and caches its URL resolver,
so reloading only the modules the script imported when it was loaded keeps serving the
old view (mod_wsgi itself is stale here too). mod_wsgi_rs drops everything the script
brought in, at its load or in its requests, Django included."""

import os
import subprocess
import sys
import time

import pytest
import requests

import harness

VIEWS = """\
from django.http import HttpResponse


def hello(request):
    return HttpResponse("{text}")
"""

URLS = """\
from django.urls import path

from mysite import views

urlpatterns = [path("", views.hello)]
"""


def make_project(root):
    proj = root / "djproj"
    proj.mkdir()
    subprocess.run([sys.executable, "-m", "django", "startproject", "mysite", str(proj)],
                   check=True, capture_output=True)
    settings = proj / "mysite" / "settings.py"
    settings.write_text(settings.read_text().replace("ALLOWED_HOSTS = []", "ALLOWED_HOSTS = ['*']")
                        .replace("DEBUG = True", "DEBUG = False"))
    (proj / "mysite" / "views.py").write_text(VIEWS.format(text="version 1"))
    (proj / "mysite" / "urls.py").write_text(URLS)
    return proj


CONF = {
    "embedded": """\
WSGIPythonPath @ROOT@/djproj
WSGIScriptAlias /dj @ROOT@/djproj/mysite/wsgi.py
<Directory @ROOT@/djproj>
    Require all granted
</Directory>
""",
    "daemon": """\
WSGIDaemonProcess dj processes=2 threads=4 python-path=@ROOT@/djproj
WSGIScriptAlias /dj @ROOT@/djproj/mysite/wsgi.py process-group=dj
<Directory @ROOT@/djproj>
    Require all granted
</Directory>
""",
}


@pytest.mark.parametrize("mode", ["embedded", "daemon"])
def test_touch_reload_serves_the_edited_django_view(apache, mode):
    srv = apache(CONF[mode], start=False)
    proj = make_project(srv.root)
    harness.apache.make_world_readable(srv.root)
    srv.start()
    url = srv.url("/dj/")
    # every child and thread of the embedded pool (25 threads x 2 children) has the view
    for _ in range(20):
        r = requests.get(url, timeout=30)
        assert (r.status_code, r.text) == (200, "version 1"), srv.error_log_tail(40)
    (proj / "mysite" / "views.py").write_text(VIEWS.format(text="version 2"))
    wsgi = proj / "mysite" / "wsgi.py"
    later = time.time() + 2
    os.utime(wsgi, (later, later))
    answers = [requests.get(url, timeout=30) for _ in range(20)]
    assert [r.status_code for r in answers] == [200] * 20, srv.error_log_tail(60)
    stale = [r.text for r in answers if r.text != "version 2"]
    assert not stale, f"{len(stale)} of 20 answers served the old view"
