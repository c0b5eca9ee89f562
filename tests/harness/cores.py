"""Tell Apache's own shutdown crash apart from any other crash, by its core file.

Debian's Apache 2.4 event MPM has a race in its hard stop (SIGTERM): the child's
main thread closes the sockets of busy workers (close_worker_sockets) while a
worker finishes its connection and frees that socket's pool, so the main thread
reads freed memory (in apr_os_sock_get or apr_socket_timeout_set) and the child
dies with SIGSEGV (AH00051/AH00052). Apache serving only a static file, with no
module of ours loaded, crashed so in 6 of 60 SIGTERM stops under wrk load on this
2-core machine. Every Apache instance of the harness dumps
cores into its own directory; a crash is forgiven only when its core shows
exactly that stack, so any crash in our module still fails the test.
"""

import os
import resource
import shutil
import subprocess

GDB = shutil.which("gdb") or "/usr/bin/gdb"
APACHE_BIN = "/usr/sbin/apache2"


def allow_core_dumps():
    """preexec_fn for Apache: its children inherit an unlimited core size."""
    resource.setrlimit(resource.RLIMIT_CORE,
                       (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def core_files(core_dir):
    try:
        names = sorted(os.listdir(core_dir))
    except FileNotFoundError:
        return []
    return [os.path.join(core_dir, n) for n in names if n.startswith("core")]


def faulting_stack(core_path, timeout=120):
    """The frames of the thread that took the fatal signal, innermost first.
    Usually that is the thread gdb calls current. When Apache's handler
    re-raises the signal with kill(), another thread may take it; then the
    faulting thread is the one inside the handler, and its frames start just
    below '<signal handler called>'."""
    out = subprocess.run(
        [GDB, "-q", "-batch", "-ex", "bt 12", "-ex", "echo ==all threads==\\n",
         "-ex", "thread apply all bt 12", APACHE_BIN, core_path],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, errors="replace", timeout=timeout).stdout
    current, _, all_threads = out.partition("==all threads==")
    for thread in all_threads.split("\nThread ")[1:]:
        frames = _frames(thread)
        for i, frame in enumerate(frames):
            if "<signal handler called>" in frame:
                return frames[i + 1:]
    # gdb prints the current frame once when it loads the core, then the bt.
    frames = _frames(current)
    starts = [i for i, frame in enumerate(frames) if frame.startswith("#0 ")]
    return frames[starts[-1]:] if starts else []


def _frames(text):
    return [line for line in text.splitlines() if line.startswith("#")]


def is_apache_stop_race(stack):
    """The race above: the child's main thread, inside the event MPM
    (mod_mpm_event.so, called from ap_run_mpm), faulting in an APR socket call
    (apr_os_sock_get or apr_socket_timeout_set on the freed socket)."""
    if len(stack) < 3 or "libapr-1.so" not in stack[0]:
        return False
    if not (" apr_os_sock_get " in stack[0] or " apr_socket_" in stack[0]):
        return False
    rest = stack[1:]
    mpm = [f for f in rest if "mod_mpm_event.so" in f]
    return (len(mpm) == len(rest) - 2 and "mod_mpm_event.so" in rest[0]
            and " ap_run_mpm " in rest[-2] and " main " in rest[-1])


def explain_crashes(core_dir):
    """(all_known, report). all_known is True when there is at least one core
    and every core is Apache's own stop race; report shows each core's stack."""
    cores = core_files(core_dir)
    if not cores:
        return False, f"(no core file in {core_dir}: cannot tell whose crash it was)"
    if not os.path.exists(GDB):
        return False, f"(gdb is not installed: cannot read {len(cores)} core file(s))"
    known = True
    report = []
    for core in cores:
        stack = faulting_stack(core)
        known = known and is_apache_stop_race(stack)
        report.append(f"--- {core}: faulting thread ---\n"
                      + ("\n".join(stack) if stack else "(no signal frame found)"))
    return known, "\n".join(report)
