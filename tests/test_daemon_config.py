"""WSGIDaemonProcess options at configuration time (`apache2 -t`).

Every option of reference §1.4 is accepted with a valid value; a bad value or
a misspelt option name fails with the file, the line and a message that names
the option. chroot= may be refused, but then with a clear reason.
"""

import re
from pathlib import Path

import pytest


# option -> (a valid value, [bad values])
OPTIONS = {
    "processes": ("2", ["0", "many"]),
    "threads": ("3", ["-1", "65534"]),
    "user": ("nobody", ["no_such_user_4711", "#abc"]),
    "group": ("nogroup", ["no_such_group_4711", "#abc"]),
    "supplementary-groups": ("nogroup,www-data", ["nogroup,no_such_group_4711", "#abc"]),
    "umask": ("0027", ["999", "abc"]),
    "chroot": ("/tmp", ["relative/dir"]),
    "home": ("/tmp", ["relative/dir"]),
    "lang": ("C.UTF-8", [""]),
    "locale": ("C.UTF-8", [""]),
    "python-home": ("@VENV@", ["/nonexistent/mod_wsgi_rs/venv-4711"]),
    "python-path": ("/tmp:/var/tmp", [""]),
    "python-eggs": ("/tmp/eggs", [""]),
    "switch-interval": ("0.005", ["0", "fast"]),
    "stack-size": ("1048576", ["100", "big"]),
    "display-name": ("%{GROUP}", [""]),
    "maximum-requests": ("1000", ["-5", "many"]),
    "restart-interval": ("3600", ["-1", "soon"]),
    "inactivity-timeout": ("300", ["-1", "abc"]),
    "request-timeout": ("60", ["-1", "abc"]),
    "interrupt-timeout": ("5", ["-1", "abc"]),
    "graceful-timeout": ("15", ["-1", "abc"]),
    "eviction-timeout": ("5", ["-1", "abc"]),
    "shutdown-timeout": ("5", ["-1", "abc"]),
    "startup-timeout": ("15", ["-1", "abc"]),
    "deadlock-timeout": ("60", ["-1", "abc"]),
    "cpu-time-limit": ("100", ["-1", "abc"]),
    "cpu-priority": ("5", ["50", "abc"]),
    "memory-limit": ("1000000000", ["-1", "lots"]),
    "virtual-memory-limit": ("2000000000", ["-1", "lots"]),
    "connect-timeout": ("15", ["-1", "abc"]),
    "socket-timeout": ("60", ["-1", "abc"]),
    "queue-timeout": ("45", ["-1", "abc"]),
    "listen-backlog": ("500", ["0", "abc"]),
    "socket-user": ("www-data", ["no_such_user_4711", "#abc"]),
    "send-buffer-size": ("65536", ["100", "abc"]),
    "receive-buffer-size": ("65536", ["100", "abc"]),
    "header-buffer-size": ("65536", ["100", "abc"]),
    "response-buffer-size": ("1048576", ["1000", "abc"]),
    "response-socket-timeout": ("30", ["-1", "abc"]),
    "response-flush-delay": ("10", ["-1", "abc"]),
    "script-user": ("www-data", ["no_such_user_4711", "#abc"]),
    "script-group": ("www-data", ["no_such_group_4711", "#abc"]),
    "server-metrics": ("On", ["Maybe"]),
}

# Options a module may refuse outright, provided the message says why.
MAY_BE_REFUSED = {"chroot"}

# mod_wsgi 6 takes these empty, meaning the default (mod_wsgi-express writes python-path='')
EMPTY_MEANS_DEFAULT = {"supplementary-groups", "lang", "locale", "python-home", "python-path",
                       "python-eggs", "display-name"}

BAD_CASES = [(opt, bad) for opt, (_, bads) in OPTIONS.items() for bad in bads
             if not (bad == "" and opt in EMPTY_MEANS_DEFAULT)]


def error_at_line(out, srv, needle):
    line = srv.conf_line_of(needle)
    return f"line {line} of {srv.conf}" in out


def names_option(out, option):
    """The message names the option itself (not a shorter word inside it)."""
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", out) is not None


def test_the_table_covers_every_option_of_the_reference():
    ref = Path("/work/shared/MODWSGI_REFERENCE.md")
    if not ref.exists():
        pytest.skip("reference not available")
    text = ref.read_text()
    section = text[text.index("### 1.4"):text.index("## 2.")]
    rows = "\n".join(l for l in section.splitlines() if l.startswith("| `"))
    names = set(re.findall(r"`([a-z][a-z-]+)=", rows))
    assert len(names) > 40, names
    missing = names - set(OPTIONS)
    assert not missing, f"options of §1.4 not tested: {sorted(missing)}"


@pytest.mark.parametrize("option", list(OPTIONS))
def test_option_with_a_valid_value_is_accepted(configtest, option):
    value = OPTIONS[option][0]
    rc, out = configtest(f"WSGIDaemonProcess cfgpool {option}={value}\n", copy_apps=False)
    if option in MAY_BE_REFUSED and rc != 0:
        assert error_at_line(out, configtest.last, f"{option}={value}"), out
        assert names_option(out, option), out
        assert re.search(r"not (supported|implemented)", out), out
        print(f"{option}= refused: {out.strip().splitlines()[-1]}")
        return
    assert rc == 0, out
    assert "Syntax OK" in out


def test_all_options_together_are_accepted(configtest):
    opts = " ".join(f"{o}={v}" for o, (v, _) in OPTIONS.items()
                    if o not in MAY_BE_REFUSED and o != "script-group")
    rc, out = configtest(f"WSGIDaemonProcess cfgpool {opts}\n", copy_apps=False)
    assert rc == 0, out


@pytest.mark.parametrize("option", sorted(EMPTY_MEANS_DEFAULT))
@pytest.mark.parametrize("quote", ["", "''", '""'])
def test_option_left_empty_is_accepted_as_mod_wsgi_does(configtest, option, quote):
    rc, out = configtest(f"WSGIDaemonProcess cfgpool threads=2 {option}={quote}\n", copy_apps=False)
    assert rc == 0, out


def test_quoted_values_and_name_as_mod_wsgi_express_writes_them(configtest):
    rc, out = configtest("WSGIDaemonProcess 'localhost:8000' display-name='(wsgi:localhost:8000:0)' "
                         "home='/tmp' threads=2 python-path='' lang='en_US.UTF-8'\n"
                         "WSGIPythonPath ''\n", copy_apps=False)
    assert rc == 0, out


@pytest.mark.parametrize("option,bad", BAD_CASES,
                         ids=[f"{o}={b or 'EMPTY'}" for o, b in BAD_CASES])
def test_option_with_a_bad_value_names_file_line_and_option(configtest, option, bad):
    word = f"{option}={bad}"
    rc, out = configtest(f"WSGIDaemonProcess cfgpool threads=2 {word}\n", copy_apps=False)
    assert rc != 0, out
    assert error_at_line(out, configtest.last, "WSGIDaemonProcess cfgpool"), out
    assert names_option(out, option), (
        f"the message for {word!r} does not name the option {option!r}:\n{out}")


@pytest.mark.parametrize("option", list(OPTIONS))
def test_misspelt_option_names_file_line_and_the_word(configtest, option):
    value = OPTIONS[option][0]
    # drop one letter in the middle: "proceses", "thrads", ...
    i = len(option) // 2
    wrong = option[:i] + option[i + 1:]
    if wrong in OPTIONS:
        wrong = option + "s"
    rc, out = configtest(f"WSGIDaemonProcess cfgpool {wrong}={value}\n", copy_apps=False)
    assert rc != 0, out
    assert error_at_line(out, configtest.last, f"{wrong}="), out
    assert wrong in out, out
    # the list of accepted names helps find the right spelling
    assert option in out, out


def test_option_without_equals_is_an_error(configtest):
    rc, out = configtest("WSGIDaemonProcess cfgpool threads\n", copy_apps=False)
    assert rc != 0, out
    assert error_at_line(out, configtest.last, "WSGIDaemonProcess cfgpool"), out
    assert "threads" in out


def test_user_root_is_refused(configtest):
    for value in ("root", "#0"):
        rc, out = configtest(f"WSGIDaemonProcess cfgpool user={value}\n", copy_apps=False)
        assert rc != 0, out
        assert error_at_line(out, configtest.last, f"user={value}"), out
        assert "root" in out, out


def test_chroot_is_refused_with_a_reason(configtest):
    rc, out = configtest("WSGIDaemonProcess cfgpool chroot=/srv\n", copy_apps=False)
    if rc == 0:
        pytest.skip("chroot= is accepted (implemented)")
    assert error_at_line(out, configtest.last, "chroot=/srv"), out
    assert "chroot" in out
    assert re.search(r"not (supported|implemented)", out), out


def test_duplicate_pool_name_is_an_error(configtest):
    rc, out = configtest("WSGIDaemonProcess cfgpool\nWSGIDaemonProcess cfgpool threads=2\n",
                         copy_apps=False)
    assert rc != 0, out
    assert error_at_line(out, configtest.last, "WSGIDaemonProcess cfgpool threads=2"), out
    assert "cfgpool" in out


@pytest.mark.parametrize("fragment,needle", [
    ("<Location /x>\n    WSGIDaemonProcess cfgpool\n</Location>\n", "WSGIDaemonProcess"),
    ("<Location /x>\n    WSGISocketRotation Off\n</Location>\n", "WSGISocketRotation"),
    ("<VirtualHost *:@PORT@>\n    WSGISocketPrefix run/x\n</VirtualHost>\n", "WSGISocketPrefix"),
])
def test_daemon_directives_out_of_their_context(configtest, fragment, needle):
    rc, out = configtest(fragment, copy_apps=False)
    assert rc != 0, out
    assert needle in out
    assert error_at_line(out, configtest.last, needle), out


def test_daemon_directives_in_their_contexts_are_accepted(configtest):
    rc, out = configtest("""\
WSGISocketPrefix run/wsgi-x
WSGISocketRotation Off
WSGIRestrictEmbedded On
WSGIDaemonProcess top processes=1 threads=2
WSGIProcessGroup top
WSGIImportScript /tmp/x.py process-group=top application-group=%{GLOBAL}
<VirtualHost *:@PORT@>
    ServerName v.example
    WSGIDaemonProcess invhost threads=2
    WSGIProcessGroup invhost
    WSGIImportScript /tmp/x.py process-group=invhost application-group=%{GLOBAL}
</VirtualHost>
<Directory /tmp>
    WSGIProcessGroup %{ENV:POOL}
    WSGIErrorOverride On
</Directory>
WSGIScriptAlias /a /tmp/a.wsgi process-group=top application-group=%{GLOBAL}
""", copy_apps=False)
    assert rc == 0, out
