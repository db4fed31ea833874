"""One tool registry on each side: what the stages offer the model exists in the session's
registry, what the session asks of Blender exists in the host's table, and nothing is
dispatched by building a method name from a string."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

from viga_addon.agent.session import modeltools
from viga_addon.stages import STAGES

ROOT = Path(__file__).resolve().parents[2]

# what the session itself asks the host for, besides the model's tools
SESSION_HOST_CALLS = {
    "blender_info",
    "setup_scene",
    "reset_scene",
    "snapshot",
    "restore",
    "render",
    "compare",
    "object_names",
    "get_scene_info",
    "save_blend",
    "write_scene_py",
    "reset_view",
    "execute_code",
    "revert_last",
    "refine_parameters",
}


@pytest.mark.smoke
def test_every_tool_a_stage_offers_is_registered_with_a_schema():
    for stage in STAGES:
        for name in (*stage.generator_tools, *stage.verifier_tools):
            assert name in modeltools.REGISTRY, (stage.name, name)
            assert modeltools.REGISTRY[name].schema["name"] == name
        offers_refine = "refine_parameters" in stage.generator_tools
        assert bool(stage.refine_groups) == offers_refine, stage.name
    names = ("end_round", "execute_code")
    assert [s["name"] for s in modeltools.specs(names)] == list(names)


@pytest.mark.smoke
def test_the_host_serves_every_call_the_session_makes():
    from viga_addon.tools.host import BlenderHost

    host = BlenderHost(render_device="cpu")
    passthrough = {name for name, tool in modeltools.REGISTRY.items() if tool.handler is None}
    assert (SESSION_HOST_CALLS | passthrough) <= set(host.tools)
    result = host.call("no_such_tool", {})
    assert result["ok"] is False and "unknown host tool" in result["error"]
    assert "bad arguments" in host.call("object_names", {"x": 1})["error"]


@pytest.mark.smoke
@pytest.mark.parametrize(
    "path",
    [
        "viga_addon/tools/host.py",
        *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "viga_addon/agent/session").glob("*.py")),
    ],
)
def test_no_dispatch_by_a_name_built_from_a_string(path):
    """``getattr(self, f"_tool_{name}")`` and the like are gone: tables name their handlers."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "getattr":
            assert not (len(node.args) > 1 and isinstance(node.args[1], ast.JoinedStr)), path


@pytest.mark.smoke
def test_the_console_script_names_the_cli_main():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, attr = scripts["viga"].partition(":")
    import importlib

    assert callable(getattr(importlib.import_module(module), attr))
