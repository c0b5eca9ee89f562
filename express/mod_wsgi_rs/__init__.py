"""mod_wsgi_rs: the Apache module and `mod_wsgi_rs-express`, a drop-in for mod_wsgi-express.

`server_module()` says where the Apache module (`wsgi_module`) is; the rest of the package
writes Apache configurations that load it (see `cli.py`).
"""

import os
from pathlib import Path

__version__ = "0.1.0"

__all__ = ["server_module", "ModuleNotFound", "__version__"]


class ModuleNotFound(RuntimeError):
    """The Apache module file could not be found."""


def server_module():
    """The path of the mod_wsgi_rs Apache module (a .so for `LoadModule wsgi_module`).

    $MOD_WSGI_RS_SO wins (a module built in a source tree, or one installed elsewhere);
    else the file the wheel installs in `server/` next to this package."""
    env = os.environ.get("MOD_WSGI_RS_SO")
    if env:
        path = Path(env).resolve()
        if not path.is_file():
            raise ModuleNotFound(f"MOD_WSGI_RS_SO={env} is not a file")
        return path
    server_dir = Path(__file__).resolve().parent / "server"
    found = sorted(server_dir.glob("mod_wsgi_rs*.so"))
    if not found:
        raise ModuleNotFound(
            f"no Apache module (mod_wsgi_rs*.so) in {server_dir}: this installation of "
            f"mod_wsgi_rs has no built module; reinstall the wheel, or set MOD_WSGI_RS_SO "
            f"to the path of one (e.g. target/release/libmod_wsgi_rs.so)")
    return found[0]
