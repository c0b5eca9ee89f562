"""Test harness for mod_wsgi_rs: real Apache, generated configs (used by tests/conftest.py
and bench/). `make run` does not use it: it runs the example with mod_wsgi_rs-express."""

from .apache import (  # noqa: F401
    APACHE_BIN,
    APPS_DIR,
    TESTS_DIR,
    REPO,
    ONE_EVENT_CHILD,
    Apache,
    ApacheError,
    Response,
    dechunk,
    http_request,
    default_python_home,
    free_port,
    live_servers,
    module_so_path,
    parse_raw_response,
    port_open,
    raw_http,
    read_response,
    rss_kb,
)
from .modes import DAEMON_POOL, MODES, in_mode, mode_of  # noqa: F401
from .example import EXAMPLE_CONF, EXAMPLE_SRC, prepare_example  # noqa: F401
