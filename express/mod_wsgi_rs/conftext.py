"""Small helpers that write Apache configuration text. Pure."""

import os


def quote(value):
    """An Apache config argument: double-quoted, with \\ and " escaped."""
    value = str(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_quote(value):
    """A LogFormat/ErrorLogFormat string: double-quoted, only " escaped (its backslash
    escapes such as \\t are the format's own)."""
    return '"' + str(value).replace('"', '\\"') + '"'


def option(name, value):
    """A `name=value` option of WSGIDaemonProcess/WSGIScriptAlias, quoted only when the value
    needs it (the whole token is quoted, which Apache's tokenizer takes as one word)."""
    value = str(value)
    if value and not any(c.isspace() or c in "\"'\\" for c in value):
        return f"{name}={value}"
    return quote(f"{name}={value}")


def listen_address(host, port):
    if host is None:
        return str(port)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # IPv6 literal
    return f"{host}:{port}"


def load(name, modules_dir, so=None):
    so = so or f"mod_{name}.so"
    return f"LoadModule {name}_module {quote(os.path.join(modules_dir, so))}"


def section(title, *lines):
    return ["", f"# ---- {title}", *lines]


def continued(head, opts, indent="    "):
    """`head \\` then one option a line, each line but the last continued."""
    return [f"{head} \\"] + [f"{indent}{opt}" + (" \\" if i < len(opts) - 1 else "")
                             for i, opt in enumerate(opts)]


def block(open_tag, lines, indent="    "):
    """<Tag ...> lines </Tag>, the lines indented."""
    tag = open_tag.split()[0].lstrip("<").rstrip(">")
    return [open_tag, *[indent + line if line else line for line in lines], f"</{tag}>"]
