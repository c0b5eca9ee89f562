"""The httpd.conf sections about what is served where: virtual hosts (--server-name,
--https-port, --https-only), the document root (static files first, then the application),
error documents, access control and proxies. Pure: ServerOptions -> lines, as
mod_wsgi-express's templates (express/apache.py of mod_wsgi 6) write them.
"""

import os

from .conftext import block, quote, section


def _deny_others(o):
    """The default virtual host: requests for names other than --server-name."""
    return block("<Location />", ["Require host localhost"] if o.allow_localhost
                 else ["Require all denied"])


def _ssl_lines(o):
    lines = ["SSLEngine on",
             f"SSLCertificateFile {quote(o.ssl_certificate_file)}",
             f"SSLCertificateKeyFile {quote(o.ssl_certificate_key_file)}"]
    if o.ssl_ca_certificate_file:
        # none here: SSLVerifyClient require is set per URL below (--ssl-verify-client)
        lines += [f"SSLCACertificateFile {quote(o.ssl_ca_certificate_file)}", "SSLVerifyClient none"]
    if o.ssl_certificate_chain_file:
        lines.append(f"SSLCertificateChainFile {quote(o.ssl_certificate_chain_file)}")
    return lines


def _names(o):
    lines = [f"ServerName {o.server_name or o.host_name}"]
    if o.server_name and o.server_aliases:
        lines.append("ServerAlias " + " ".join(o.server_aliases))
    return lines


def _to_https(o):
    return ["RewriteEngine On", "RewriteCond %{HTTPS} off",
            f"RewriteRule (.*) https://{o.server_name or o.host_name}:{o.https_port}%{{REQUEST_URI}}"]


def http_vhosts(o, others=False):
    """The HTTP port's virtual hosts of --server-name or --https-only. Written before any
    other virtual host of the port (`others`: --proxy-virtual-host, --service-log-file), as
    the first one answers the requests no ServerName matches: without those flags an empty
    one does, which is the main server."""
    if not (o.server_name or (o.https_only and o.https_port)):
        if not others:
            return []
        return section("the HTTP port's default virtual host: the main server, as configured here",
                       f"<VirtualHost _default_:{o.port}>", "</VirtualHost>")
    lines = section("virtual hosts of the HTTP port (--server-name, --https-only)")
    if o.server_name:
        lines += ["# Any other Host: refused" + (" (but from localhost)." if o.allow_localhost else ".")]
        lines += block(f"<VirtualHost _default_:{o.port}>", ["ServerName _wsgi_", *_deny_others(o)])
    named = _names(o) + (_to_https(o) if o.https_only and o.https_port else [])
    lines += block(f"<VirtualHost *:{o.port}>", named)
    if o.parent_domain:
        lines += [f"# {o.server_name} starts with www.: its parent domain redirects to it."]
        target = (f"https://{o.server_name}:{o.https_port}/" if o.https_only and o.https_port
                  else f"http://{o.server_name}:{o.port}/")
        lines += block(f"<VirtualHost *:{o.port}>",
                       [f"ServerName {o.parent_domain}", f"Redirect permanent / {target}"])
    return lines


def https(o):
    if not o.https_port:
        return []
    lines = section(
        "HTTPS (--https-port)",
        f"Listen {o.listen(o.https_port)}",
        f"SSLSessionCache {quote('shmcb:' + os.path.join(o.server_root, 'ssl_scache(512000)'))}",
    )
    if o.server_name:
        lines += block(f"<VirtualHost _default_:{o.https_port}>",
                       ["ServerName _wsgi_", *_deny_others(o), *_ssl_lines(o)])
    named = _names(o) + _ssl_lines(o)
    if o.https_only and o.hsts_policy:
        named.append(f"Header set Strict-Transport-Security {quote(o.hsts_policy)}")
    if o.ssl_environment:
        named.append("SSLOptions +StdEnvVars")
    lines += block(f"<VirtualHost *:{o.https_port}>", named)
    if o.server_name and o.parent_domain:
        lines += block(f"<VirtualHost *:{o.https_port}>",
                       [f"ServerName {o.parent_domain}",
                        f"Redirect permanent / https://{o.server_name}:{o.https_port}/",
                        *_ssl_lines(o)])
    if o.ssl_ca_certificate_file:
        lines.append("# --ssl-ca-certificate-file: a client certificate is required here.")
        for path in sorted(o.ssl_verify_client_urls or ["/"], reverse=True):
            lines += block(f"<Location {quote(path)}>", ["SSLVerifyClient require", "SSLVerifyDepth 1"])
    return lines


def document_root(o, handler_line):
    """--document-root (and what implies one): Apache serves the files there, the rest goes to
    the application through a WSGIHandlerScript (mod_wsgi-express's layout)."""
    root, mount = o.docroot, o.mount_point
    inner = [f"AllowOverride {o.allow_override_text}"]
    if o.directory_index:
        inner.append(f"DirectoryIndex {o.directory_index}")
    if o.directory_listing:
        inner.append("Options +Indexes")
    if o.with_cgi:
        inner.append("Options +ExecCGI")
    inner += ["RewriteEngine On", "RewriteOptions InheritDownBefore"]
    if o.rewrite_rules:
        inner.append(f"Include {quote(o.rewrite_rules)}")
    inner.append("Require all granted")
    fallback = ["RewriteCond %{REQUEST_FILENAME} !-f"]
    if o.directory_index:
        fallback.append("RewriteCond %{REQUEST_FILENAME} !-d")
    if o.server_status:
        fallback.append("RewriteCond %{REQUEST_URI} !/server-status")
    fallback.append("RewriteRule .* - [H=wsgi-handler]")
    sub = root + mount
    return [
        "# --document-root: its files are served by Apache; any other URL under the mount",
        "# point goes to the application (the handler puts the mount point back in SCRIPT_NAME).",
        f"DocumentRoot {quote(root)}",
        "AccessFileName .htaccess",
        *block(f"<Directory {quote(root)}>", inner),
        *block(f"<Directory {quote(sub)}>", fallback),
        handler_line,
    ]


def error_documents(o):
    lines = []
    if o.error_documents:
        lines += section("--error-document: Apache's pages for HTTP errors")
        lines += [f"ErrorDocument {status} {quote(doc)}" for status, doc in o.error_documents]
    if o.error_override:
        lines += ["# --error-override: the application's error responses get them too.",
                  "WSGIErrorOverride On"]
    return lines


def access_control(o):
    lines = []
    if o.host_access_script:
        lines += section("--host-access-script")
        lines += block("<Location />", [f"WSGIAccessScript {quote(o.host_access_script)}"])
    if o.auth_user_script:
        lines += section(f"--auth-user-script: {o.auth_type} authentication for the whole site")
        require = ["Require valid-user"]
        inner = [f"AuthType {o.auth_type}", f"AuthName {quote(f'{o.host_name}:{o.port}')}",
                 f"Auth{o.auth_type}Provider wsgi",
                 f"WSGIAuthUserScript {quote(o.auth_user_script)}"]
        if o.auth_group_script:
            inner.append(f"WSGIAuthGroupScript {quote(o.auth_group_script)}")
            require.append(f"Require wsgi-group {quote(o.auth_group)}")
        inner += block("<RequireAll>", require)
        lines += block("<Location />", inner)
    return lines


def _forwarded(prefix=None):
    lines = ["RewriteEngine On",
             "RewriteRule .* - [E=SERVER_PORT:%{SERVER_PORT},NE]",
             "RequestHeader set X-Forwarded-Port %{SERVER_PORT}e",
             "RewriteCond %{HTTPS} on",
             "RewriteRule .* - [E=URL_SCHEME:https,NE]",
             "RequestHeader set X-Forwarded-Scheme %{URL_SCHEME}e env=URL_SCHEME"]
    if prefix is not None:
        lines.append(f"RequestHeader set X-Forwarded-Prefix {prefix}")
    return lines


def proxies(o):
    if not (o.proxy_mount_points or o.proxy_virtual_hosts):
        return []
    lines = section("--proxy-mount-point / --proxy-virtual-host (mod_proxy)")
    if o.proxy_timeout is not None:
        lines.append(f"ProxyTimeout {o.proxy_timeout}")
    for mount, url in o.proxy_mount_points:
        prefix = mount.rstrip("/")
        if not mount.endswith("/"):
            mount, url = mount + "/", url.rstrip("/") + "/"
        lines += [f"ProxyPass {quote(mount)} {quote(url)} upgrade=websocket",
                  f"ProxyPassReverse {quote(mount)} {quote(url)}"]
        lines += block(f"<Location {quote(mount)}>", _forwarded(prefix))
        lines += ["# the mount point without its slash redirects to it"]
        lines += block(f"<LocationMatch {quote('^' + prefix + '$')}>",
                       ["RewriteEngine On",
                        "RewriteRule .* http://%{HTTP_HOST}%{REQUEST_URI}/ [R=302,L]"])
    for host, url in o.proxy_virtual_hosts:
        inner = [f"ServerName {host}", f"ProxyPass / {quote(url)} upgrade=websocket",
                 f"ProxyPassReverse / {quote(url)}",
                 f"RequestHeader set X-Forwarded-Port {o.port}", *_forwarded()[3:]]
        inner.insert(4, "RewriteEngine On")
        lines += block(f"<VirtualHost *:{o.port}>", inner)
    return lines
