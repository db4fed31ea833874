"""The shape of the code, checked: no import cycle (imports inside functions and imports kept
for annotations under ``TYPE_CHECKING`` count), the rooms import only what their docstring
allows, no module over 600 lines, every package's index names each of its modules, no module
imports another's ``_private`` name, and every public function of agent/ and stages/ has type
hints. Static (AST) checks."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "viga_addon"
MAX_LINES = 600


def _modules() -> dict[str, tuple[Path, bool]]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        out[".".join(parts)] = (path, is_package)
    return out


MODULES = _modules()


def _imports(name: str) -> set[str]:
    """The project modules ``name`` imports: at module level, inside functions, or for
    annotations under ``if TYPE_CHECKING:`` (a circle of types is a circle of concepts too)."""
    path, is_package = MODULES[name]
    here = name.split(".") if is_package else name.split(".")[:-1]
    found = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            # a module always imports its own packages first: not an edge of its own
            if target and target != name and not name.startswith(target + "."):
                found.add(target)
    return found


GRAPH = {name: _imports(name) for name in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    sys.setrecursionlimit(10_000)

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in graph:
        if v not in index:
            visit(v)
    return out


@pytest.mark.smoke
def test_the_cycle_check_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.smoke
def test_no_import_cycle_between_modules():
    assert _cycles(GRAPH) == []


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


@pytest.mark.smoke
def test_no_import_cycle_between_rooms():
    """Rooms: agent, stages, tools, cli, operators, panels and each top-level module."""
    rooms: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        rooms.setdefault(_room(module), set()).update(
            _room(t) for t in targets if _room(t) != _room(module)
        )
    rooms.pop("", None)
    for targets in rooms.values():
        targets.discard("")
    assert _cycles(rooms) == []


# what each room may import from the project (besides itself)
ALLOWED = {
    "common": set(),  # pure helpers both sides use: nothing of ours
    "stages": set(),
    "agent": {"stages", "common"},
    "tools": {"stages", "common"},  # stages: scope names; never the agent
    "launch": {"agent", "tools", "stages", "common"},
    "cli": {"agent", "tools", "stages", "launch", "demo", "common"},
}


@pytest.mark.smoke
@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_each_room_imports_only_what_it_may(room):
    offenders = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if _room(module) == room
        for target in targets
        if _room(target) not in ALLOWED[room] | {room}
    )
    assert offenders == []


@pytest.mark.smoke
def test_no_module_over_600_lines():
    long = {
        name: n
        for name, (path, _) in MODULES.items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


@pytest.mark.smoke
def test_every_package_says_what_it_holds():
    silent = [
        name
        for name, (path, is_package) in MODULES.items()
        if is_package and not ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert silent == []


def _children(package: str) -> list[str]:
    """The modules and packages directly inside ``package``, by their short names."""
    prefix = package + "."
    return sorted(
        name[len(prefix) :]
        for name in MODULES
        if name.startswith(prefix) and "." not in name[len(prefix) :]
    )


@pytest.mark.smoke
def test_every_package_index_names_each_of_its_modules():
    """A package's docstring is its index: a newcomer reads where things are from it."""
    unnamed = []
    for name, (path, is_package) in MODULES.items():
        if not is_package or name == "viga_addon":
            continue
        text = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        words = {w.strip(",;:()`").removesuffix(".py") for w in text.replace("/", " ").split()}
        unnamed += [f"{name}.{child}" for child in _children(name) if child not in words]
    assert unnamed == []


@pytest.mark.smoke
def test_no_module_imports_a_private_name_of_another():
    """``from .x import _name`` reaches into another module's insides: make the name public
    (it is part of x's interface) or move the code where it belongs."""
    offenders = []
    for name, (path, _) in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (
                node.level or "viga_addon" in (node.module or "")
            ):
                offenders += [
                    f"{name}: {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                ]
    assert offenders == []


def _public_functions(tree: ast.Module):
    """Public module functions and public methods of public classes."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node.name, node
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    yield f"{node.name}.{item.name}", item


def _unhinted(node: ast.FunctionDef) -> list[str]:
    args = node.args
    missing = [
        a.arg
        for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]
        if a.annotation is None and a.arg not in ("self", "cls")
    ]
    missing += [f"*{a.arg}" for a in (args.vararg, args.kwarg) if a and a.annotation is None]
    if node.returns is None and node.name != "__init__":
        missing.append("return")
    return missing


@pytest.mark.smoke
@pytest.mark.parametrize("room", ["agent", "stages"])
def test_public_functions_have_type_hints(room):
    gaps = []
    for name, (path, _) in MODULES.items():
        if _room(name) != room:
            continue
        for qualname, node in _public_functions(ast.parse(path.read_text(encoding="utf-8"))):
            if qualname.split(".")[-1].startswith("_") and not qualname.endswith("__init__"):
                continue
            missing = _unhinted(node)
            if missing:
                gaps.append(f"{name}.{qualname}: {', '.join(missing)}")
    assert gaps == []
