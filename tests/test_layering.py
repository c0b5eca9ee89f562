"""The crate keeps its layers (ARCHITECTURE.md): folders of src/ call only the ones below
them, C is touched only in the layers that wrap it, and unsafe code has a SAFETY line."""
import re

from harness import layering

ENTRY_LAYER = "hooks"   # extern "C" entry points name Apache's types in their signatures


def test_no_import_cycle_between_folders():
    graph = layering.folder_graph(layering.edges(layering.modules()))
    assert layering.sccs(graph) == []


def test_layers_only_call_down():
    # top to bottom; a folder may use any folder after it
    order = ["hooks", "daemon", "host", "apache", "wsgi", "telemetry", "python", "config", "metrics", "sys"]
    graph = layering.folder_graph(layering.edges(layering.modules()))
    upward = sorted((a, b) for a, uses in graph.items() for b in uses
                    if a in order and b in order and order.index(b) < order.index(a))
    assert upward == []


def test_apache_types_stay_in_the_ffi_layers():
    ffi = layering.ffi_uses_outside_ffi_layers(layering.modules())
    assert {f: n for f, n in ffi.items() if not f.startswith(ENTRY_LAYER + "/")} == {}


def test_unsafe_only_where_c_is_called():
    mods = layering.modules()
    allowed = set(layering.FFI_LAYERS) | {ENTRY_LAYER}
    outside = [str(p) for m, p in mods.items()
               if layering.unit(m) not in allowed and re.search(r"\bunsafe\b", layering.code_of(p))]
    assert outside == []


def test_every_unsafe_block_has_a_safety_line():
    missing = []
    for path in layering.SRC.rglob("*.rs"):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            code = line.split("//")[0]
            if not re.search(r"\bunsafe\s*\{", code) or "unsafe fn" in code:
                continue
            # the SAFETY comment sits on one of the lines just above the block
            above = " ".join(lines[max(0, i - 3):i + 1])
            if "SAFETY:" not in above:
                missing.append(f"{path.relative_to(layering.SRC)}:{i + 1}")
    assert missing == []
