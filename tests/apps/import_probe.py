# A WSGIImportScript: runs when an Apache child starts (before any request).
# Leaves a marker file <ServerRoot>/markers/import-<group>-<pid>, records
# itself in pylib/mwrs_state.py for the apps of the same interpreter, and tries
# to register a SIGUSR1 handler (on the process's main thread, where Python
# would allow it) to show what WSGIRestrictSignal does.
import os
import signal
import sys

import mod_wsgi

HERE = os.path.dirname(os.path.abspath(__file__))
PYLIB = os.path.join(HERE, "pylib")
if PYLIB not in sys.path:
    sys.path.append(PYLIB)

import mwrs_state  # noqa: E402

GROUP = mod_wsgi.application_group
mwrs_state.imported_by = {"group": GROUP, "pid": os.getpid()}


def _handler(signum, frame):
    pass


try:
    before = signal.getsignal(signal.SIGUSR1)
    returned = signal.signal(signal.SIGUSR1, _handler)
    installed = signal.getsignal(signal.SIGUSR1) is _handler
    mwrs_state.signal_result = {"returned_handler": returned is _handler,
                                "installed": installed}
    if installed and before is not None:
        signal.signal(signal.SIGUSR1, before)  # leave Apache's signals alone
except Exception as e:
    mwrs_state.signal_result = {"error": f"{type(e).__name__}: {e}"}

marker = os.path.join(os.path.dirname(HERE), "markers",
                      f"import-{GROUP or 'GLOBAL'}-{os.getpid()}")
with open(marker, "w") as f:
    f.write(f"{os.getpid()}\n")
