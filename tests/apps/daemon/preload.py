# WSGIImportScript for a daemon pool: records, when the process starts, which
# process loaded it and when: <ServerRoot>/markers/preload-<pid> holds
# "<pid> <time.time()> <mod_wsgi.process_group>".
import os
import time

import mod_wsgi

MARKERS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "markers")
with open(os.path.join(MARKERS, f"preload-{os.getpid()}"), "w") as f:
    f.write(f"{os.getpid()} {time.time()} {mod_wsgi.process_group}\n")
