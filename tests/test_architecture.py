"""The layers of docs/architecture.md hold in the code: every import in src/genlab (lazy ones inside
functions and "module:attr" registry targets included) goes to the importer's own unit or to a lower
layer, and the files of a unit import each other without loops. The table in the doc is the rule."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "genlab"
DOC = ROOT / "docs" / "architecture.md"
TARGET = re.compile(r"^(genlab(?:\.\w+)+):\w+$")  # registry entries such as "genlab.models.vae:VAE"


def layer_table() -> dict[str, tuple[int, str]]:
    """unit name (top-level module or folder under genlab/) -> (layer number, row label)."""
    units: dict[str, tuple[int, str]] = {}
    for line in DOC.read_text().splitlines():
        m = re.match(r"^\|\s*(\d+)\s+([^|]+?)\s*\|([^|]*)\|", line)
        if m:
            for name in re.findall(r"`([\w.]+)`", m.group(3)):
                units[name] = (int(m.group(1)), f"{m.group(1)} {m.group(2)}")
    assert units, "no layer table found in docs/architecture.md"
    return units


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def unit_of(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def resolve(name: str, modules: set[str]) -> str | None:
    """The genlab module a dotted name refers to (a module, or the package holding an attribute)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports(path: Path, modules: set[str]) -> list[tuple[str, int]]:
    """(imported genlab module, line) for every import statement and registry target in a file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [
                f"{node.module}.{a.name}" for a in node.names
            ]  # a submodule, or an attribute of the module
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and TARGET.match(node.value):
            names = [TARGET.match(node.value).group(1)]
        else:
            continue
        for n in names:
            if n == "genlab" or n.startswith("genlab."):
                target = resolve(n, modules)
                if target is not None:
                    found.append((target, node.lineno))
    return found


def graph() -> tuple[dict[str, Path], dict[str, set[str]], list[tuple[str, str, int]]]:
    files = {module_name(p): p for p in SRC.rglob("*.py")}
    mods = set(files)
    edges: dict[str, set[str]] = {m: set() for m in files}
    lines: list[tuple[str, str, int]] = []
    for m, p in files.items():
        for target, line in imports(p, mods):
            if target != m:
                edges[m].add(target)
                lines.append((m, target, line))
    return files, edges, lines


def test_every_module_is_in_the_table() -> None:
    units = layer_table()
    files, _, _ = graph()
    missing = sorted({unit_of(m) for m in files} - set(units))
    assert not missing, f"add these to the layer table of docs/architecture.md: {missing}"


def test_imports_only_go_down_or_stay_in_their_unit() -> None:
    units = layer_table()
    files, _, lines = graph()
    bad = []
    for src, dst, line in lines:
        us, ud = unit_of(src), unit_of(dst)
        if units[us] == units[ud]:  # the same row of the table: one unit
            continue
        ls, ld = units[us][0], units[ud][0]
        if ld >= ls:
            kind = "upward" if ld > ls else "sideways"
            bad.append(
                f"{files[src].relative_to(ROOT)}:{line}: {src} ({units[us][1]}) imports {dst} ({units[ud][1]}): {kind}"
            )
    assert not bad, "imports that break the layers:\n" + "\n".join(bad)


def test_no_import_loops_between_files() -> None:
    files, edges, _ = graph()
    # a package's __init__ importing its own submodules is how a package exports; a submodule importing
    # its package's __init__ back would be the loop, and is found here like any other
    state: dict[str, int] = {}
    stack: list[str] = []
    loops: list[list[str]] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(edges[m]):
            if state.get(n) == 1:
                loops.append(stack[stack.index(n) :] + [n])
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(files):
        if m not in state:
            visit(m)
    assert not loops, "import loops:\n" + "\n".join(" -> ".join(c) for c in loops[:10])


def test_the_checker_sees_lazy_imports_and_registry_targets(tmp_path: Path) -> None:
    """The rules cannot pass by not looking: an import inside a function and a "module:attr" string
    are both found."""
    code = (
        "def f():\n    from genlab.runs import fit_run\n"
        "X = 'genlab.models.vae:VAE'\n"
        "import genlab.judge.metrics as M\n"
    )
    p = tmp_path / "probe.py"
    p.write_text(code)
    files, _, _ = graph()
    found = {t for t, _ in imports(p, set(files))}
    assert found == {"genlab.runs", "genlab.models.vae", "genlab.judge.metrics"}
