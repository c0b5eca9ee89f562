"""ServerOptions: everything setup-server needs, resolved (resolve.py fills it in from the
command line), and the names derived from it. Pure data."""

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from .conftext import listen_address, load
from .flags import HTTPD, MIME_TYPES, MODULES_DIR

HANDLER_NAME = "handler.wsgi"
RESOURCE_NAME = "resource.wsgi"
RELOADER_NAME = "mod_wsgi_rs_reload.py"


@dataclass
class ServerOptions:
    """Everything setup-server needs, already resolved (absolute paths, defaults filled)."""

    app: str                      # script / .ini path, or module name for --application-type module
    server_root: str
    module_so: str
    python_home: str
    working_directory: str
    user: str
    group: str
    application_type: str = "script"
    callable_object: str = "application"
    application_group: Optional[str] = None   # None: %{GLOBAL}
    process_group_name: Optional[str] = None  # None: HOST:PORT
    port: int = 8000
    host: Optional[str] = None    # None: every interface (as mod_wsgi-express)
    server_name: Optional[str] = None
    server_aliases: List[str] = field(default_factory=list)
    allow_localhost: bool = False
    processes: Optional[int] = None
    threads: int = 5
    embedded_mode: bool = False
    mount_point: str = "/"
    url_aliases: List[Tuple[str, str]] = field(default_factory=list)
    url_alias_is_dir: List[bool] = field(default_factory=list)  # one per url_aliases entry
    python_paths: List[str] = field(default_factory=list)
    python_eggs: Optional[str] = None         # None: SERVER_ROOT/python-eggs
    python_warnings: List[str] = field(default_factory=list)
    lang: Optional[str] = None
    locale: Optional[str] = None
    reload_on_changes: bool = False
    disable_reloading: bool = False
    orphan_interpreter: bool = False
    # daemon process options (mod_wsgi-express's defaults)
    request_timeout: int = 60
    queue_timeout: int = 45
    maximum_requests: int = 0
    graceful_timeout: int = 15
    startup_timeout: int = 15
    shutdown_timeout: int = 5
    deadlock_timeout: int = 60
    connect_timeout: int = 15
    socket_timeout: int = 60
    restart_interval: int = 0
    eviction_timeout: int = 0
    inactivity_timeout: int = 0
    interrupt_timeout: int = 0
    cpu_time_limit: int = 0
    daemon_backlog: int = 100
    send_buffer_size: int = 0
    receive_buffer_size: int = 0
    header_buffer_size: int = 0
    response_buffer_size: int = 0
    response_socket_timeout: int = 0
    response_flush_delay: int = 5
    switch_interval: Optional[float] = None
    ignore_activity: List[str] = field(default_factory=list)
    socket_prefix: Optional[str] = None       # None: the server root
    # Apache
    max_clients: Optional[int] = None
    initial_workers: Optional[float] = None
    minimum_spare_workers: Optional[float] = None
    maximum_spare_workers: Optional[float] = None
    mpm: str = "event"
    limit_request_body: int = 10485760
    server_backlog: int = 500
    keep_alive_timeout: int = 2
    header_timeout: int = 15
    header_max_timeout: int = 30
    header_min_rate: int = 500
    body_timeout: int = 15
    body_max_timeout: int = 0
    body_min_rate: int = 500
    pid_file: Optional[str] = None
    mime_types: str = MIME_TYPES
    modules_directory: str = MODULES_DIR
    httpd_executable: str = HTTPD
    shell_executable: str = "/bin/sh"
    process_name: Optional[str] = None
    envvars_script: Optional[str] = None
    map_head_to_get: str = "Auto"
    chunked_request: bool = False
    enable_sendfile: bool = False
    verbose_debugging: bool = False
    server_metrics: bool = False
    passenv: List[str] = field(default_factory=list)
    # what is served
    document_root: Optional[str] = None       # None: no static files, all to the application
    directory_index: Optional[str] = None
    directory_listing: bool = False
    allow_override: List[str] = field(default_factory=list)
    rewrite_rules: Optional[str] = None
    with_cgi: bool = False
    cgid: bool = True                         # mod_cgid is there (else mod_cgi)
    handler_scripts: List[Tuple[str, str]] = field(default_factory=list)
    error_documents: List[Tuple[str, str]] = field(default_factory=list)
    error_override: bool = False
    proxy_mount_points: List[Tuple[str, str]] = field(default_factory=list)
    proxy_virtual_hosts: List[Tuple[str, str]] = field(default_factory=list)
    proxy_timeout: Optional[int] = None
    host_access_script: Optional[str] = None
    auth_user_script: Optional[str] = None
    auth_type: str = "Basic"
    auth_group_script: Optional[str] = None
    auth_group: str = "wsgi"
    # telemetry (WSGITelemetryService, WSGISlowRequests, WSGITelemetryOptions)
    telemetry_target: Optional[str] = None
    telemetry_interval: float = 1.0
    slow_requests: Optional[float] = None
    telemetry_options: List[str] = field(default_factory=list)
    # --enable-telemetry: the receiver's service script, written into the server root
    telemetry_service: Optional[str] = None
    telemetry_ui_port: int = 8888
    service_scripts: List[Tuple[str, str]] = field(default_factory=list)
    service_users: Dict[str, str] = field(default_factory=dict)
    service_groups: Dict[str, str] = field(default_factory=dict)
    service_log_files: Dict[str, str] = field(default_factory=dict)
    # logs
    log_to_terminal: bool = False
    log_directory: Optional[str] = None       # None: SERVER_ROOT/logs
    access_log: bool = False
    access_log_format: Optional[str] = None   # None: combined
    access_log_name: str = "access.log"
    error_log_format: Optional[str] = None
    error_log_name: str = "error.log"
    startup_log: bool = False
    startup_log_name: str = "startup.log"
    rotate_logs: bool = False
    max_log_size: int = 5
    rotatelogs_executable: str = "/usr/bin/rotatelogs"
    log_level: str = "warn"
    # HTTPS
    https_port: Optional[int] = None
    ssl_certificate_file: Optional[str] = None
    ssl_certificate_key_file: Optional[str] = None
    ssl_certificate_chain_file: Optional[str] = None
    ssl_ca_certificate_file: Optional[str] = None
    ssl_verify_client_urls: List[str] = field(default_factory=list)
    ssl_environment: bool = False
    https_only: bool = False
    hsts_policy: Optional[str] = None
    http2: bool = False
    trust_proxy_headers: List[str] = field(default_factory=list)
    trust_proxies: List[str] = field(default_factory=list)
    server_status: bool = False
    include_files: List[str] = field(default_factory=list)
    setenv: List[Tuple[str, str]] = field(default_factory=list)
    compress_responses: bool = False
    uid: int = field(default_factory=os.getuid)

    # ---- derived names

    @property
    def host_name(self):
        """The name in the daemon group, the default root and ServerName: localhost
        unless --host is given (as mod_wsgi-express)."""
        return self.host or "localhost"

    @property
    def process_group(self):
        return self.process_group_name or f"{self.host_name}:{self.port}"

    @property
    def app_group(self):
        return self.application_group or "%{GLOBAL}"

    @property
    def display_name(self):
        if self.process_group_name:
            return f"(wsgi:{self.process_group_name})"
        return f"(wsgi:{self.host_name}:{self.port}:{self.uid})"

    @property
    def parent_domain(self):
        """--server-name www.NAME: NAME, which redirects to it."""
        name = self.server_name or ""
        return name[4:] if name.lower().startswith("www.") else None

    @property
    def handler_path(self):
        return os.path.join(self.server_root, HANDLER_NAME)

    @property
    def resource_path(self):
        return os.path.join(self.server_root, RESOURCE_NAME)

    @property
    def reloader_path(self):
        return os.path.join(self.server_root, RELOADER_NAME)

    @property
    def logs_dir(self):
        return self.log_directory or os.path.join(self.server_root, "logs")

    @property
    def to_terminal(self):
        # --log-directory overrides --log-to-terminal (as mod_wsgi-express)
        return self.log_to_terminal and not self.log_directory

    @property
    def error_log(self):
        return "/dev/stderr" if self.to_terminal else os.path.join(self.logs_dir, self.error_log_name)

    @property
    def access_log_file(self):
        return "/dev/stdout" if self.to_terminal else os.path.join(self.logs_dir, self.access_log_name)

    @property
    def startup_log_file(self):
        if not self.startup_log:
            return None
        return "/dev/stderr" if self.to_terminal else os.path.join(self.logs_dir, self.startup_log_name)

    @property
    def pid_path(self):
        return self.pid_file or os.path.join(self.server_root, "httpd.pid")

    @property
    def eggs_dir(self):
        return self.python_eggs or os.path.join(self.server_root, "python-eggs")

    @property
    def process_count(self):
        return self.processes or 1

    @property
    def static_files(self):
        """A document root served ahead of the application (mod_wsgi-express's layout)."""
        return bool(self.document_root or self.directory_index or self.directory_listing
                    or self.rewrite_rules or self.with_cgi or self.handler_scripts)

    @property
    def docroot(self):
        return self.document_root or os.path.join(self.server_root, "htdocs")

    @property
    def allow_override_text(self):
        return " ".join(self.allow_override) or "None"

    @property
    def sys_path(self):
        """What the application's sys.path gets in front: the working directory (as
        mod_wsgi-express), then each --python-path."""
        return list(dict.fromkeys([self.working_directory, *self.python_paths]))

    @property
    def url(self):
        return f"http://{self.server_name or self.host_name}:{self.port}{self.mount_point}"

    def listen(self, port):
        return listen_address(self.host, port)

    def load(self, name, so=None):
        return load(name, self.modules_directory, so)
