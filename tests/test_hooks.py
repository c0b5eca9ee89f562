"""Python hooks in the Apache child (reference §7): WSGIAccessScript, WSGIAuthUserScript
(AuthBasicProvider wsgi), WSGIAuthGroupScript (Require wsgi-group), WSGIDispatchScript."""

import pytest
import requests

CONF = """\
WSGIScriptAlias /access @APPS@/hooks/whoami.wsgi
WSGIScriptAlias /login @APPS@/hooks/whoami.wsgi
WSGIScriptAlias /admins @APPS@/hooks/whoami.wsgi
WSGIScriptAlias /dispatch @APPS@/hooks/whoami.wsgi
<Location /access>
    WSGIAccessScript @APPS@/hooks/access.py
</Location>
<Location /login>
    AuthType Basic
    AuthName "test"
    AuthBasicProvider wsgi
    WSGIAuthUserScript @APPS@/hooks/auth.py
    Require valid-user
</Location>
<Location /admins>
    AuthType Basic
    AuthName "test"
    AuthBasicProvider wsgi
    WSGIAuthUserScript @APPS@/hooks/auth.py
    WSGIAuthGroupScript @APPS@/hooks/auth.py
    Require wsgi-group admins
</Location>
<Location /dispatch>
    WSGIDispatchScript @APPS@/hooks/dispatch.py
</Location>
"""

MODULES = ["auth_basic", "authn_core", "authz_user"]


@pytest.fixture(scope="module")
def srv(module_apache):
    return module_apache(CONF, modules=MODULES)


def test_access_script(srv):
    assert requests.get(srv.url("/access"), timeout=30).status_code == 200
    assert requests.get(srv.url("/access?deny"), timeout=30).status_code == 403
    assert requests.get(srv.url("/access?none"), timeout=30).status_code == 200  # other modules decide
    assert requests.get(srv.url("/access?boom"), timeout=30).status_code == 403
    assert "access hook failed" in srv.error_log()


def test_auth_user_script(srv):
    assert requests.get(srv.url("/login"), timeout=30).status_code == 401
    ok = requests.get(srv.url("/login"), auth=("alice", "wonderland"), timeout=30)
    assert ok.status_code == 200 and ok.json()["user"] == "alice"
    assert requests.get(srv.url("/login"), auth=("alice", "wrong"), timeout=30).status_code == 401
    assert requests.get(srv.url("/login"), auth=("nobody", "x"), timeout=30).status_code == 401
    # A string returned by check_password becomes REMOTE_USER.
    renamed = requests.get(srv.url("/login"), auth=("robert", "builder"), timeout=30)
    assert renamed.status_code == 200 and renamed.json()["user"] == "bob"


def test_auth_group_script(srv):
    assert requests.get(srv.url("/admins"), auth=("alice", "wonderland"), timeout=30).status_code == 200
    assert requests.get(srv.url("/admins"), auth=("bob", "builder"), timeout=30).status_code in (401, 403)


def test_dispatch_script_chooses_interpreter_and_callable(srv):
    r = requests.get(srv.url("/dispatch?red"), timeout=30).json()
    assert r == {"who": "application", "user": None, "group": "dispatched-red"}
    r = requests.get(srv.url("/dispatch?other"), timeout=30).json()
    assert r["who"] == "other" and r["group"] == "dispatched-other"


def test_hook_directives_need_a_directory_context(configtest):
    rc, out = configtest("WSGIAuthUserScript /tmp/auth.py\n")
    assert rc != 0 and "WSGIAuthUserScript cannot occur" in out, out
