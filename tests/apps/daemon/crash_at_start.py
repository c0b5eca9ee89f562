# WSGIImportScript that kills its daemon process while it starts (a pool that
# cannot come up): the supervisor must restart it with growing delays.
import os

os._exit(3)
