"""Differential testing against mod_wsgi 6 itself.

The same requests go to an Apache that loads our module and to one that loads
mod_wsgi 6 (from PyPI, built with Debian's apxs into the test venv by `make
venv`), with the same httpd.conf, the same port and the same venv as
WSGIPythonHome. What a client and an operator see is recorded (status, header
lines, body, the [wsgi:*] error-log lines of that connection), normalised for
what must differ (dates, pids, ports, the ServerRoot path, the module's name in
the banner), and compared.

Differences are failures, except the deliberate ones in DELIBERATE: each says
what differs and why ours is better, has its own test, and is listed in the
README's table "Where mod_wsgi_rs differs from mod_wsgi, and why".
"""

import difflib
import glob
import importlib.util
import json
import re
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from .apache import read_response

REFERENCE_VERSION = "6.1.1"


def reference_module_so():
    """mod_wsgi 6's Apache module inside the installed `mod_wsgi` package."""
    spec = importlib.util.find_spec("mod_wsgi")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the mod_wsgi package (the reference) is not installed in this venv: "
            "run `make venv`")
    pkg = Path(list(spec.submodule_search_locations)[0])
    found = sorted(glob.glob(str(pkg / "server" / "mod_wsgi-py*.so")))
    if not found:
        raise FileNotFoundError(f"no mod_wsgi-py*.so under {pkg / 'server'}")
    return Path(found[0])


# ----------------------------------------------------------------- recording

@dataclass
class Observed:
    """What one request showed a client and an operator."""
    status_line: str
    headers: list            # [(name, value)] in the order sent
    body: bytes
    complete: bool           # the framing said the body was complete
    closed: bool             # the server closed the connection
    interim: list            # interim status lines (100 Continue) before the response
    log: list = field(default_factory=list)   # normalised [wsgi:*] lines


class _Pushback:
    """A socket whose recv() first returns bytes already read past an interim response."""

    def __init__(self, sock, data):
        self.sock, self.data = sock, data

    def settimeout(self, t):
        self.sock.settimeout(t)

    def recv(self, n):
        if self.data:
            out, self.data = self.data[:n], self.data[n:]
            return out
        return self.sock.recv(n)


class HalfClose(bytes):
    """A request after which the client shuts its sending side (a client gone mid-body)."""


def connect_from_new_port(port, timeout, taken):
    """A connection whose client port is not in taken (then added to it). Log lines are
    matched to requests by client port, and the kernel may hand a closed port out again."""
    held = []
    try:
        while True:
            s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
            client_port = s.getsockname()[1]
            if client_port not in taken:
                taken.add(client_port)
                return s, client_port
            held.append(s)   # kept open while retrying, so the kernel picks another
    finally:
        for h in held:
            h.close()


def send(port, request, timeout=15.0, taken=None):
    """Send one raw request on a new connection; (Response, client port). Interim 1xx
    responses (100 Continue) are kept in Response.interim. With taken (a set), the
    client port differs from every port in it."""
    head = request.split(b" ", 1)[0] == b"HEAD"
    s, client_port = connect_from_new_port(port, timeout, set() if taken is None else taken)
    with s:
        s.sendall(request)
        if isinstance(request, HalfClose):
            s.shutdown(socket.SHUT_WR)
        interim, source = [], s
        r = read_response(source, timeout=timeout, head=head)
        while r.status and 100 <= r.status < 200 and r.status != 101:
            interim.append(r.status_line)
            rest = r.raw.partition(b"\r\n\r\n")[2]
            source = _Pushback(s, rest)
            r = read_response(source, timeout=timeout, head=head)
        r.interim = interim
        if not r.closed:
            # a kept-alive connection must stay usable: nothing more may come
            s.settimeout(0.2)
            try:
                extra = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                extra = None
            if extra:
                r.body += b"<<EXTRA BYTES AFTER THE RESPONSE: " + extra[:200] + b">>"
    return r, client_port


def header_lines(raw):
    head = raw.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")[1:]
    out = []
    for line in head:
        name, _, value = line.partition(":")
        out.append((name.strip(), value.strip()))
    return out


LOG_LINE = re.compile(
    r"^\[[^\]]+\] \[(?P<level>wsgi:\w+)\] \[pid \d+(?::tid \d+)?\] "
    r"(?:\(\d+\)[^:]*: )?\[(?:client|remote) 127\.0\.0\.1:(?P<port>\d+)\] (?P<msg>.*)$")


def wsgi_log_by_client(text, root):
    """{client port: [normalised '[wsgi:level] message']} of an error log."""
    out = {}
    for line in text.splitlines():
        m = LOG_LINE.match(line)
        if not m:
            continue
        msg = normalise_text(m.group("msg"), root)
        out.setdefault(int(m.group("port")), []).append(f"[{m.group('level')}] {msg}")
    return out


def normalise_text(text, root):
    text = text.replace(str(root), "<ROOT>")
    text = re.sub(r"\(pid=\d+\)", "(pid=N)", text)
    text = re.sub(r"mod_wsgi_rs/[\d.]+|mod_wsgi/[\d.]+", "<MODULE>", text)
    return text


def record(srv, cases, settle=0.6, taken=None):
    """Run (name, request bytes) cases one after another against srv; return
    {name: Observed}. Log lines are matched to a case by its client port, so no two
    connections (nor any in taken, such as warm-up requests) share one."""
    results, ports = {}, {}
    taken = set() if taken is None else taken
    mark = srv.log_mark()
    for name, request in cases:
        r, port = send(srv.port, request, taken=taken)
        ports[name] = port
        results[name] = Observed(r.status_line, header_lines(r.raw), r.body,
                                 r.complete, r.closed, r.interim)
    # daemon processes write their lines through their own error-log handle
    time.sleep(settle)
    logs = wsgi_log_by_client(srv.log_since(mark), srv.root)
    for name, obs in results.items():
        obs.log = logs.get(ports[name], [])
    return results


# -------------------------------------------------------------- normalising

# Keys whose values differ between any two requests, or between any two servers.
VOLATILE_ENVIRON = {
    "REMOTE_PORT", "_pid", "_thread", "mod_wsgi.request_id", "mod_wsgi.request_start",
    "mod_wsgi.queue_start", "mod_wsgi.daemon_start", "mod_wsgi.application_start",
    "mod_wsgi.server_pid", "mod_wsgi.script_start",
    "mod_wsgi.thread_id",   # which of the pool's threads took the request
}
DROPPED_HEADERS = {"date"}


def comparable(obs, root):
    """The parts of an Observed that must be equal, normalised."""
    body = obs.body
    headers = [(n, normalise_text(v, root)) for n, v in obs.headers
               if n.lower() not in DROPPED_HEADERS]
    # Werkzeug builds Allow from a set: its order follows the hash seed
    headers = [(n, ", ".join(sorted(v.split(", "))) if n.lower() == "allow" else v)
               for n, v in headers]
    # HTTP gives no meaning to the order of fields of different names (RFC 9110 5.3), and
    # the two modules fill Apache's table in different orders; the order of repeated
    # fields of one name is kept.
    headers.sort(key=lambda h: h[0].lower())
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if any(n == "X-Request-Method" for n, _ in headers):   # environ.wsgi's answer
        # its length follows the volatile values (HEAD included, which has no body)
        headers = [(n, "<N>" if n.lower() == "content-length" else v) for n, v in headers]
    if isinstance(data, dict) and "_types" in data:      # an environ dump
        for key in VOLATILE_ENVIRON:
            data.pop(key, None)
        body = normalise_text(json.dumps(data, sort_keys=True, indent=1), root)
        # its length follows the volatile values
        headers = [(n, "<N>" if n.lower() == "content-length" else v) for n, v in headers]
    else:
        body = normalise_text(body.decode("latin-1"), root)
    return {
        "interim": obs.interim,
        "status": obs.status_line,
        "headers": headers,
        "body": body,
        "framing": ("complete" if obs.complete else "truncated")
                   + (", closed" if obs.closed else ", kept open"),
        "log": obs.log,
    }


def differences(ours, theirs):
    """{aspect: (ours, theirs)} for the aspects that differ."""
    return {k: (ours[k], theirs[k]) for k in ours if ours[k] != theirs[k]}


def _lines(value):
    if isinstance(value, str):
        return value.splitlines() or [""]
    if isinstance(value, list):
        return [": ".join(v) if isinstance(v, tuple) else str(v) for v in value]
    return [str(value)]


def explain(diff):
    """A readable report of differences(): a line diff per aspect."""
    out = []
    for aspect, (ours, theirs) in diff.items():
        out.append(f"--- {aspect} (- mod_wsgi 6, + ours)")
        out += [f"  {l}" for l in difflib.unified_diff(
            _lines(theirs), _lines(ours), lineterm="", n=1)][2:]
    return "\n".join(out)


# ------------------------------------------------------- deliberate choices

@dataclass(frozen=True)
class Deliberate:
    """One way ours answers differently from mod_wsgi 6 on purpose.

    reconcile(case, ours, theirs) gets the two comparable() dicts and returns
    them with this difference erased where it applies (and nothing else)."""
    what: str      # what differs, as a user sees it (the README table's row)
    why: str       # why ours is better
    test: str      # the test that pins our behaviour
    reconcile: object


def _header(c, name):
    return [v for n, v in c["headers"] if n.lower() == name.lower()]


def _without_headers(c, *names):
    drop = {n.lower() for n in names}
    return dict(c, headers=[(n, v) for n, v in c["headers"] if n.lower() not in drop])


def _content_length_for_sequences(case, ours, theirs):
    cl = _header(ours, "Content-Length")
    # GET: mod_wsgi chunks; HEAD: it sends neither header
    framed_by_them = _header(theirs, "Transfer-Encoding") == ["chunked"] or case.startswith("HEAD ")
    if cl and not _header(theirs, "Content-Length") and framed_by_them:
        ours = _without_headers(ours, "Content-Length")
        theirs = _without_headers(theirs, "Transfer-Encoding")
    return ours, theirs


TRACEBACK_START = "Traceback (most recent call last):"


def _strip_traceback(log):
    out, inside = [], False
    for line in log:
        level, _, msg = line.partition("] ")
        msg = re.sub(r"^\[script [^\]]*\] ", "", msg)
        if msg == TRACEBACK_START:
            inside = True
            continue
        if inside and msg.startswith(" "):
            continue
        inside = False
        out.append(line)
    return out


def _tracebacks_logged(case, ours, theirs):
    return dict(ours, log=_strip_traceback(ours["log"])), dict(theirs, log=_strip_traceback(theirs["log"]))


ERROR_PAGE = "<!DOCTYPE HTML PUBLIC"
TRUNCATED_LINE = "Response was truncated: the application failed after the response had started"


def _truncated_not_padded(case, ours, theirs):
    """mod_wsgi appends Apache's 500 page to a body already under way (embedded mode), or
    ends it as if complete (daemon mode)."""
    body, page = theirs["body"], theirs["body"].find(ERROR_PAGE)
    sent = body[:page] if page >= 0 else body
    if ours["framing"] == "truncated, closed" and sent == ours["body"]:
        theirs = dict(theirs, body=ours["body"], framing=ours["framing"])
        ours = dict(ours, log=[l for l in ours["log"] if not l.endswith(TRUNCATED_LINE)])
    return ours, theirs


def _length_mismatch_logged(case, ours, theirs):
    log = [l for l in ours["log"]
           if not re.search(r"(shorter than its Content-Length of \d+; closing the connection"
                            r"|longer than its Content-Length of \d+; the rest was not sent)$", l)]
    return dict(ours, log=log), theirs


def _log_has(c, text):
    return any(text in l for l in c["log"])


def _refused(ours, theirs):
    """Ours answered 500 where mod_wsgi sent something: the whole answer differs."""
    both = dict(theirs, log=ours["log"])
    return both, both


def _body_item_checked_first(case, ours, theirs):
    if (ours["status"].split()[1:2] == ["500"] and theirs["status"].split()[1:2] == ["200"]
            and _log_has(ours, "response iterable must yield bytes")
            and _log_has(theirs, "response iterable must yield bytes")):
        return _refused(ours, theirs)
    return ours, theirs


def _bad_header_name_refused(case, ours, theirs):
    if ours["status"].split()[1:2] == ["500"] and _log_has(ours, "in header name: b'"):
        return _refused(ours, theirs)
    return ours, theirs


def _repeated_headers_kept(case, ours, theirs):
    """mod_wsgi's daemon mode folds repeated fields into one ('a, b'), Set-Cookie aside."""
    folded, seen = [], {}
    for n, v in ours["headers"]:
        key = n.lower()
        if key in seen and key != "set-cookie":
            i = seen[key]
            folded[i] = (folded[i][0], f"{folded[i][1]}, {v}")
        else:
            seen[key] = len(folded)
            folded.append((n, v))
    if folded != ours["headers"] and folded == theirs["headers"]:
        ours = dict(ours, headers=folded)
    return ours, theirs


def _errors_object(case, ours, theirs):
    fix = lambda text: text.replace("mod_wsgi._Errors", "_io.TextIOWrapper").replace(
        "_Errors ", "TextIOWrapper ")
    return dict(ours, body=fix(ours["body"])), theirs


def _without_redirect_vars(c):
    lines = [l for l in c["body"].splitlines() if not l.lstrip().startswith('"REDIRECT_')]
    return dict(c, body="\n".join(lines))


def _redirect_environ(case, ours, theirs):
    if '"REDIRECT_URL"' in ours["body"] and '"REDIRECT_URL"' in theirs["body"]:
        return _without_redirect_vars(ours), _without_redirect_vars(theirs)
    return ours, theirs


def _our_version_attribute(case, ours, theirs):
    extra = '\n "mod_wsgi_rs_version",'
    if extra in ours["body"] and extra not in theirs["body"]:
        ours = dict(ours, body=ours["body"].replace(extra, ""))
    return ours, theirs


def _continue_when_read(case, ours, theirs):
    if not ours["interim"] and theirs["interim"] == ["HTTP/1.1 100 Continue"]:
        theirs = dict(theirs, interim=[])
    return ours, theirs


READ_ERROR = re.compile(r"(mod_wsgi request data read error: |when proxying data to daemon process: )(.*?)(\.?)$")
OUR_BODY_WORDS = ("the client closed the connection", "timed out waiting for the rest",
                  "the request body is malformed", "the client connection failed")


def _body_error_in_words(case, ours, theirs):
    """mod_wsgi logs APR's words for a failed body read ("Unknown error -102", "Partial
    results are valid but processing is incomplete"); ours says what happened."""
    if not any(w in l for l in ours["log"] for w in OUR_BODY_WORDS):
        return ours, theirs
    reason = lambda log: [READ_ERROR.sub(r"\1<reason>\3", l) for l in log]
    return dict(ours, log=reason(ours["log"])), dict(theirs, log=reason(theirs["log"]))


DELIBERATE = {
    "content-length": Deliberate(
        "A response whose whole body is known before it goes out (a list or tuple; in daemon "
        "mode also a small body that ends before the first flush) gets a `Content-Length`; "
        "mod_wsgi 6 sends it chunked",
        "the client knows the size up front (progress, HTTP/1.0 keep-alive, no chunk framing)",
        "test_response.py::test_content_length_is_set_for_sequences",
        _content_length_for_sequences),
    "traceback": Deliberate(
        "An exception is logged with its traceback; mod_wsgi 6 logs only the exception's "
        "last line",
        "the traceback is what the developer needs to find the fault",
        "test_errors.py::test_exception_before_output_is_500_with_traceback",
        _tracebacks_logged),
    "truncated": Deliberate(
        "An exception after the response started closes the connection without a final "
        "chunk; mod_wsgi 6 appends Apache's 500 page to the half-sent body",
        "the client sees a truncated response instead of a complete one with HTML glued on",
        "test_errors.py::test_exception_after_output_closes_the_connection",
        _truncated_not_padded),
    "length-mismatch": Deliberate(
        "A body shorter than its `Content-Length` is logged as a warning and the connection "
        "closed; a longer one is cut and logged; mod_wsgi 6 logs neither",
        "otherwise the client waits for bytes that never come, or the cut goes unnoticed",
        "test_response.py::test_short_body_closes_the_connection_instead_of_hanging",
        _length_mismatch_logged),
    "body-item-type": Deliberate(
        "A list or tuple body with an item that is not bytes answers 500; mod_wsgi 6 sends "
        "the items before it with a 200 and then cuts the response",
        "every item of a sequence is checked before anything is sent, so the client gets "
        "an error it can see instead of a 200 with half a body",
        "test_response.py::test_invalid_status_headers_or_body_give_500",
        _body_item_checked_first),
    "header-name": Deliberate(
        "A header name with `:` or a non-ASCII character, or a value with a control "
        "character, answers 500; mod_wsgi 6 passes it on and Apache sends a malformed "
        "response",
        "a response that splits or garbles headers is worse than an error with its cause "
        "in the log",
        "test_response.py::test_crlf_in_header_gives_500_and_no_split_response",
        _bad_header_name_refused),
    "repeated-headers": Deliberate(
        "Repeated response headers (`X-A: 1`, `X-A: 2`) reach the client as the application "
        "sent them in both modes; mod_wsgi 6's daemon mode folds them into `X-A: 1, 2`",
        "the same application gives the same response in both modes",
        "test_response.py::test_repeated_headers_reach_the_client_as_sent",
        _repeated_headers_kept),
    "errors-object": Deliberate(
        "`wsgi.errors` is a light object with a TextIOWrapper's methods (`write`, "
        "`writelines`, `flush`, `buffer`, `with`), not an `io.TextIOWrapper` instance",
        "building a TextIOWrapper per request costs 4.1 µs under the GIL against 0.22 µs",
        "test_logging.py::test_wsgi_errors_buffer_and_context_manager",
        _errors_object),
    "redirect-environ": Deliberate(
        "After a daemon's `Location` + 200 internal redirect the target sees Apache's "
        "`REDIRECT_*` variables; mod_wsgi 6 also passes its internal `mod_wsgi.x-*` values, "
        "the daemon socket's secret among them",
        "a daemon's secret must not reach another application",
        "test_response.py::test_location_with_200_is_an_internal_redirect",
        _redirect_environ),
    "expect-continue": Deliberate(
        "In daemon mode `Expect: 100-continue` gets its `100 Continue` only when the "
        "application reads the body, as in embedded mode; mod_wsgi 6's daemon mode always "
        "sends it",
        "a client that asked first does not upload a body the application never reads",
        "test_input.py::test_expect_continue_only_when_the_body_is_read",
        _continue_when_read),
    "version-attribute": Deliberate(
        "The `mod_wsgi` module also has `mod_wsgi_rs_version` (its `version` is mod_wsgi's, "
        "`(6, 1, 1)`)",
        "an application or a health check can tell which module runs it",
        "test_mod_wsgi_module.py::test_module_says_it_is_mod_wsgi_rs",
        _our_version_attribute),
    "body-error-words": Deliberate(
        "A request body that cannot be read to its end is logged and raised (`OSError`) "
        "with what happened in words (client closed, timed out, malformed chunk); mod_wsgi 6 "
        "gives APR's message (`Unknown error -102`)",
        "the operator learns why an upload failed without looking up APR status codes",
        "test_input.py::test_truncated_or_malformed_body_is_never_taken_as_complete",
        _body_error_in_words),
}


def reconcile(case, ours, theirs):
    """Both comparable() dicts with every deliberate difference erased."""
    for d in DELIBERATE.values():
        ours, theirs = d.reconcile(case, ours, theirs)
    return ours, theirs
