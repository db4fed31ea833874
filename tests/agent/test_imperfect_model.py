"""A model that writes Blender 3.x code and can fix it only when the error tells it how.

Played by the fake server behind the real SDKs (it reads each request as a model would): the
material generator first writes ``bsdf.inputs["Specular"]`` (renamed "Specular IOR Level" in
4.0); when execute_code's error names the real socket it rewrites the line with that name,
otherwise it can only send the same code again. With the hint the material stage completes
with the material in the scene; with the hint taken away it never does.
"""

from __future__ import annotations

import json
import re

import bpy
import pytest
from fake_model_server import fake_server
from pipeline_helpers import demo_script, flatten_script, new_session

from viga_addon.agent.worker import ModelWorker
from viga_addon.tools.code import hints

KEY = "sk-test-imperfect-0123456789"
OLD_CODE = """\
import bpy
mat = bpy.data.materials.new("ball_red")
mat.use_nodes = True
bsdf = mat.node_tree.nodes["Principled BSDF"]
bsdf.inputs["Base Color"].default_value = (0.8, 0.05, 0.05, 1)
bsdf.inputs["Specular"].default_value = 0.7
ball = bpy.data.objects["red_ball"]
ball.data.materials.clear()
ball.data.materials.append(mat)
"""
RENAMED = re.compile(r"In this Blender it is called '([^']+)'")


def _system(wire: str, body: dict) -> str:
    if wire == "anthropic":
        system = body.get("system") or ""
        return system if isinstance(system, str) else " ".join(b["text"] for b in system)
    return body["messages"][0]["content"]


def _tool_results(wire: str, body: dict) -> list[str]:
    """The texts of every tool result in the request, oldest first."""
    out = []
    for m in body["messages"]:
        if wire == "openai" and m["role"] == "tool":
            out.append(m["content"] if isinstance(m["content"], str) else json.dumps(m["content"]))
        elif wire == "anthropic" and isinstance(m.get("content"), list):
            for block in m["content"]:
                if block.get("type") == "tool_result":
                    inner = block.get("content")
                    text = (
                        inner
                        if isinstance(inner, str)
                        else " ".join(b.get("text", "") for b in inner or [] if isinstance(b, dict))
                    )
                    out.append(("ERROR: " if block.get("is_error") else "") + text)
    return out


def _call(name: str, **arguments) -> dict:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def imperfect_model(wire: str, body: dict) -> dict | None:
    """The material stage's generator and verifier; every other request goes to the queue."""
    system = _system(wire, body)
    if system.startswith("Stage: material — Verifier"):
        # it approves a finished attempt only (the generator ended it, not its turn limit)
        first = next(m for m in body["messages"] if m["role"] == "user")
        finished = "Generator's summary: red glossy ball" in json.dumps(first)
        return _call(
            "submit_verdict",
            analysis="The ball is red and glossy." if finished else "The ball is still grey.",
            approved=finished,
            checklist=[] if finished else ["give red_ball a red, glossy material"],
            best_attempt=1,
        )
    if not system.startswith("Stage: material — Generator"):
        return None
    results = _tool_results(wire, body)
    if not results:
        return _call("execute_code", code=OLD_CODE, intent="red glossy ball")
    last = results[-1]
    if "Refused" not in last and "Error" not in last and "error" not in last.split("\n")[0]:
        return _call("end_round", summary="red glossy ball")
    renamed = RENAMED.search(last)
    if renamed:  # the error named the socket: use it
        fixed = OLD_CODE.replace('inputs["Specular"]', f'inputs["{renamed.group(1)}"]')
        return _call("execute_code", code=fixed, intent="the socket's 4.x name")
    return _call("execute_code", code=OLD_CODE, intent="red glossy ball")  # it cannot guess


def _run(tmp_path, wire: str):
    replies = flatten_script(demo_script(), ["init"], {"init": 1})
    with fake_server() as server:
        server.queue(*replies)
        server.respond_with(imperfect_model)
        base_url = server.url if wire == "anthropic" else server.url + "/v1"
        worker = ModelWorker(wire, model="test-model", api_key=KEY, base_url=base_url)
        session, worker = new_session(
            tmp_path,
            worker=worker,
            provider=wire,
            stages=["init", "material"],
            rollouts=1,
            budgets={"material": 2},
        )
        try:
            status = session.run_to_end()
        finally:
            worker.close()
    return session, status


@pytest.mark.parametrize("wire", ["anthropic", "openai"])
def test_the_hint_lets_a_3x_model_finish_the_material_stage(tmp_path, wire):
    session, status = _run(tmp_path, wire)
    assert status == "done", session.state.message
    material = session.state.stages["material"]
    assert material.status == "approved" and material.best == 1
    code = (session.run_dir / "stages/material/round_1/code.py").read_text()
    assert "(error)" in code and "(ok)" in code and 'inputs["Specular IOR Level"]' in code
    bpy.ops.wm.open_mainfile(filepath=str(session.run_dir / "final.blend"))
    ball = bpy.data.objects["red_ball"]
    assert [m.name for m in ball.data.materials] == ["ball_red"]
    bsdf = bpy.data.materials["ball_red"].node_tree.nodes["Principled BSDF"]
    assert bsdf.inputs["Specular IOR Level"].default_value == pytest.approx(0.7)


def test_without_the_hint_the_same_model_never_gets_there(tmp_path, monkeypatch):
    monkeypatch.setattr(hints, "explain", lambda *args, **kwargs: None)
    session, status = _run(tmp_path, "anthropic")
    material = session.state.stages["material"]
    assert material.status in ("failed", "budget_spent"), material.status
    codes = [(session.run_dir / f"stages/material/round_{n}/code.py").read_text() for n in (1, 2)]
    assert all("(ok)" not in c and 'inputs["Specular"]' in c for c in codes)
    assert "ball_red" not in [m.name for m in bpy.data.materials]
