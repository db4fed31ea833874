"""viga_addon/agent and viga_addon/stages are pure Python: no Blender module may be imported there.

Two checks: a static one (the AST of every .py file, so imports inside functions and
``importlib.import_module("bpy")`` calls are caught too) and a dynamic one (every module imports
in a fresh interpreter whose import system refuses Blender's modules).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PURE_DIRS = (ROOT / "viga_addon" / "agent", ROOT / "viga_addon" / "stages")
BLENDER_MODULES = (
    "bpy",
    "bmesh",
    "mathutils",
    "gpu",
    "gpu_extras",
    "aud",
    "freestyle",
    "idprop",
    "imbuf",
    "blf",
    "bgl",
    "addon_utils",
    "bpy_extras",
    "_bpy",
)


def is_blender_module(name: str) -> bool:
    top = name.split(".")[0]
    return top in BLENDER_MODULES or top.startswith("bl_") or top.startswith("_bpy")


def blender_imports(source: str, filename: str = "<src>") -> list[tuple[int, str]]:
    """(line, module) of every import of a Blender module in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if is_blender_module(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if is_blender_module(node.module):
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if (
                name in {"import_module", "__import__"}
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and is_blender_module(first.value)
            ):
                found.append((node.lineno, first.value))
    return found


def pure_files() -> list[Path]:
    return sorted(p for d in PURE_DIRS for p in d.rglob("*.py") if "__pycache__" not in p.parts)


def pure_modules() -> list[str]:
    modules = []
    for path in pure_files():
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules.append(".".join(parts))
    return modules


@pytest.mark.smoke
def test_checker_sees_every_import_form():
    source = (
        "import os\nimport bpy\nimport bmesh as b\nfrom mathutils import Vector\n"
        "import gpu.types\nfrom bl_ui import x\nfrom . import bpy_like\n"
        "def f():\n    import bpy_extras\n    importlib.import_module('bl_operators')\n"
    )
    assert [m for _, m in blender_imports(source)] == [
        "bpy",
        "bmesh",
        "mathutils",
        "gpu.types",
        "bl_ui",
        "bpy_extras",
        "bl_operators",
    ]


@pytest.mark.smoke
def test_no_blender_imports_in_pure_layers():
    files = pure_files()
    assert files, "no .py files found under agent/ or stages/"
    offenders = []
    for path in files:
        for line, module in blender_imports(path.read_text(encoding="utf-8"), str(path)):
            offenders.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert offenders == [], "agent/ and stages/ must not import Blender modules:\n" + "\n".join(
        offenders
    )


_BLOCKED_IMPORT = r"""
import importlib, importlib.abc, json, sys

BLOCKED = set(json.loads(sys.argv[1]))


class BlockBlender(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        top = name.split(".")[0]
        if top in BLOCKED or top.startswith("bl_") or top.startswith("_bpy"):
            raise ImportError(f"{name} is blocked: agent/ and stages/ must not import Blender modules")
        return None


sys.meta_path.insert(0, BlockBlender())
failures = {}
for module in json.loads(sys.argv[2]):
    try:
        importlib.import_module(module)
    except Exception as error:
        failures[module] = f"{type(error).__name__}: {error}"
blender_loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
# Written to a file: a module may legitimately redirect stdout at import (e.g. a worker protocol).
with open(sys.argv[3], "w", encoding="utf-8") as fh:
    json.dump({"failures": failures, "blender_loaded": blender_loaded}, fh)
"""


def _import_blocked(modules: list[str], tmp_path: Path) -> dict:
    """Import ``modules`` in a fresh interpreter that refuses Blender modules; return its report."""
    report = tmp_path / "report.json"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _BLOCKED_IMPORT,
            json.dumps(BLENDER_MODULES),
            json.dumps(modules),
            str(report),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        stdin=subprocess.DEVNULL,  # agent/worker_boot.py serves stdin when imported: give it EOF
    )
    assert result.returncode == 0 and report.is_file(), (
        result.stdout[-2000:] + result.stderr[-2000:]
    )
    return json.loads(report.read_text(encoding="utf-8"))


@pytest.mark.smoke
def test_pure_layers_import_with_blender_blocked(tmp_path):
    modules = pure_modules()
    assert "viga_addon.agent" in modules and "viga_addon.stages" in modules
    report = _import_blocked(modules, tmp_path)
    assert report["failures"] == {}, report["failures"]
    assert report["blender_loaded"] == []


@pytest.mark.smoke
def test_blocker_really_blocks(tmp_path):
    """The dynamic check is not vacuous: a module that imports bpy fails under the blocker."""
    report = _import_blocked(["viga_addon.ui.preferences"], tmp_path)
    assert "bpy is blocked" in report["failures"]["viga_addon.ui.preferences"]
