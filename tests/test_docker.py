"""docker/Dockerfile, checked without a Docker engine (none runs here): hadolint (from PyPI)
finds nothing, the build is multi-stage, the runtime stage has no toolchain and no tests, and
everything the builder copies exists in the repository."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import harness

DOCKERFILE = harness.REPO / "docker" / "Dockerfile"


def stages():
    """[(FROM line, [instruction lines])] with continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            out.append((line, []))
        else:
            out[-1][1].append(line)
    return out


def test_hadolint_finds_nothing():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    res = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_the_runtime_stage_is_slim():
    (builder, _), (runtime, steps) = stages()
    assert " AS builder" in builder
    assert runtime.startswith("FROM debian:12-slim"), runtime
    body = "\n".join(steps)
    for tool in ("cargo", "rustup", "build-essential", "apache2-dev", "libclang", "-dev "):
        assert tool not in body, f"{tool} in the runtime stage"
    assert not re.search(r"^COPY\s+(\.|tests)\s", body, re.M), "the runtime stage copies the tree or tests/"
    assert "COPY --from=builder /opt/mod_wsgi_rs/venv /opt/mod_wsgi_rs/venv" in body
    assert 'ENTRYPOINT ["/opt/mod_wsgi_rs/venv/bin/mod_wsgi_rs-express"]' in body


def test_what_the_builder_copies_exists():
    (_, steps), _ = stages()
    copies = [s.split()[1:-1] for s in steps if s.startswith("COPY ") and "--from" not in s]
    assert copies
    for sources in copies:
        for src in sources:
            assert (harness.REPO / src).exists(), src
