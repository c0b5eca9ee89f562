"""The crate's shape, read from its source: which module uses which, import cycles,
`ffi::` uses outside the FFI layers, unsafe blocks and the longest functions.

Run as a script for the figures; tests/test_layering.py asserts the layering rules.
"""
import pathlib
import re
import sys

SRC = pathlib.Path(__file__).resolve().parents[2] / "src"
# the layers allowed to touch C APIs: Apache's, CPython's, the kernel's
FFI_LAYERS = ("apache", "python", "sys")
CRATE_PATH = re.compile(r"\bcrate((?:::\w+)+)")
USE_GROUP = re.compile(r"\buse\s+crate::(\w+)::\{([^;]*)\}", re.S)
SUPER_PATH = re.compile(r"\bsuper((?:::\w+)+)")


def modules():
    """{module path tuple: file} for every .rs file under src/."""
    out = {}
    for f in SRC.rglob("*.rs"):
        rel = f.relative_to(SRC).with_suffix("")
        parts = rel.parts
        if parts == ("lib",):
            parts = ()
        elif parts[-1] == "mod":
            parts = parts[:-1]
        out[parts] = f
    return out


def code_of(path):
    """The file's text without comments, string literals and #[cfg(test)] modules."""
    text = path.read_text()
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    cut = re.search(r"#\[cfg\(test\)\]\s*mod \w+\s*\{", text)
    return text[:cut.start()] if cut else text


def resolve(mods, parts):
    """The longest prefix of parts that names a module."""
    for n in range(len(parts), 0, -1):
        if tuple(parts[:n]) in mods:
            return tuple(parts[:n])
    return None


def edges(mods):
    """{module: {modules it uses}} (file level)."""
    out = {}
    for mod, path in mods.items():
        code = code_of(path)
        used = set()
        for m in CRATE_PATH.finditer(code):
            used.add(resolve(mods, m.group(1).split("::")[1:]))
        for m in USE_GROUP.finditer(code):
            for item in re.split(r"[,\s]+", m.group(2)):
                head = item.split("::")[0].strip("{} ")
                if head and head != "self":
                    used.add(resolve(mods, [m.group(1), head]))
                else:
                    used.add(resolve(mods, [m.group(1)]))
        parent = mod[:-1] if path.name != "mod.rs" and mod else mod
        for m in SUPER_PATH.finditer(code):
            base = parent[:-1] if path.name == "mod.rs" else parent
            used.add(resolve(mods, list(base) + m.group(1).split("::")[1:]))
        used.discard(None)
        used.discard(mod)
        used = {u for u in used if u}   # `crate` itself is lib.rs
        out[mod] = used
    return out


def unit(mod):
    """The folder (or top-level file) a module belongs to."""
    return mod[0] if mod else "lib"


def sccs(graph):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return sorted(out, key=len, reverse=True)


def folder_graph(graph):
    out = {}
    for mod, used in graph.items():
        for u in used:
            if unit(u) != unit(mod):
                out.setdefault(unit(mod), set()).add(unit(u))
        out.setdefault(unit(mod), set())
    return out


def ffi_uses_outside_ffi_layers(mods):
    """{file: count} of `ffi::` uses in files outside the FFI layers."""
    out = {}
    for mod, path in mods.items():
        if unit(mod) in FFI_LAYERS:
            continue
        n = len(re.findall(r"(?<!std::)(?<!core::)\bffi::", code_of(path)))
        if n:
            out[str(path.relative_to(SRC))] = n
    return out


def unsafe_blocks(mods):
    """{file: count} of `unsafe {` blocks (not unsafe fn/impl)."""
    out = {}
    for mod, path in mods.items():
        n = len(re.findall(r"\bunsafe\s*\{", code_of(path)))
        if n:
            out[str(path.relative_to(SRC))] = n
    return out


def functions(mods):
    """[(lines, 'file:fn')] of every fn body, by brace matching."""
    out = []
    for mod, path in mods.items():
        text = path.read_text()
        clean = re.sub(r"//[^\n]*", lambda m: " " * len(m.group()), text)
        clean = re.sub(r'"(?:\\.|[^"\\])*"', lambda m: '"' + "_" * (len(m.group()) - 2) + '"', clean)
        clean = re.sub(r"'(?:\\.|[^'\\])'", "' '", clean)
        for m in re.finditer(r"\bfn\s+(\w+)[^;{]*\{", clean):
            depth, i = 1, m.end()
            while depth and i < len(clean):
                depth += {"{": 1, "}": -1}.get(clean[i], 0)
                i += 1
            lines = clean.count("\n", m.start(), i) + 1
            out.append((lines, f"{path.relative_to(SRC)}:{m.group(1)}"))
    return sorted(out, reverse=True)


def report():
    mods = modules()
    graph = edges(mods)
    cycles = sccs(graph)
    folders = folder_graph(graph)
    fcycles = sccs(folders)
    ffi = ffi_uses_outside_ffi_layers(mods)
    unsafe = unsafe_blocks(mods)
    fns = functions(mods)
    print(f"files in the largest import cycle: {len(cycles[0]) if cycles else 0}")
    for c in cycles[:1]:
        print("   ", ", ".join("/".join(m) or "lib" for m in c))
    print(f"folder-level cycles: {fcycles or 'none'}")
    print(f"ffi:: uses outside {', '.join(FFI_LAYERS)}: {sum(ffi.values())} {ffi or ''}")
    print(f"unsafe blocks: {sum(unsafe.values())} in {len(unsafe)} files")
    print("longest functions:", ", ".join(f"{n} lines {name}" for n, name in fns[:5]))
    print("folder uses:")
    for f in sorted(folders):
        print(f"    {f} -> {', '.join(sorted(folders[f])) or '-'}")


if __name__ == "__main__":
    report()
