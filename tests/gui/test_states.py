"""The panel in every phase of a run (first open, each stage running, init's selector, paused,
done, Refine), in a failed run and in a run stopped at its cost cap, then resumed under a cap
raised in the panel: real clicks and typing, screenshots of each state. Every screenshot of
``Shots`` also checks that no text the panel draws is cut, at resolution scale 1.0 and 1.25
(flows.py, fits.py); review, cancelled and Match are shot in test_step_through.py and
test_match_refine.py."""

from __future__ import annotations

from fake_model_server import fake_server
from flows import Shots, drawn_texts, open_panel, ready_demo, start_run
from scripted_model import script_responder
from scripts import TINY_PREFS, demo_script
from window import set_prefs, wait_for

from viga_addon.demo import tabletop

# each request costs about $0.075 at Sonnet 4.6 ($3 in, $15 out per million tokens)
USAGE = {"input_tokens": 10, "output_tokens": 5_000}
PER_REQUEST = (10 * 3 + 5_000 * 15) / 1e6


def test_every_phase_fits_the_sidebar(blender, tmp_path, artifacts):
    b, shot = blender, Shots(blender, artifacts)
    b.open_tab("VIGA")
    shot("first-open")
    script = demo_script({("init", "selector"): 3.0}, think=1.5)
    ready_demo(b, tmp_path, script)
    shot("demo-chosen")
    start_run(b)
    b.wait_live(lambda s: s["phase"] == "select", 300, "init's selector")
    shot("running-init-select")
    b.wait_live(lambda s: s["stage"] == "geometry", 300, "the geometry stage")
    b.click(op="bpy.ops.viga.pause(")
    b.wait_status("paused", timeout=60)
    shot("paused")
    b.click(op="bpy.ops.viga.resume_run(")
    for stage in ("geometry", "material", "composition", "lighting", "camera"):
        b.wait_live(lambda s, stage=stage: s["stage"] == stage, 300, f"the {stage} stage")
        shot(f"running-{stage}")
    b.wait_status("done", timeout=600)
    shot("done")
    open_panel(b, "VIGA_PT_refine")
    shot("refine-open")


def test_a_failed_run_says_so_and_offers_resume(blender, tmp_path, artifacts):
    b, shot = blender, Shots(blender, artifacts)
    script = demo_script()
    script["geometry"]["generator"] = [[{"fault": "no_tool", "text": "Sure!"}]]
    ready_demo(b, tmp_path, script, budget_geometry=1)
    start_run(b)
    state = b.wait_status("failed", timeout=300)
    assert "every attempt failed" in state["message"], state
    shot("failed")
    texts = drawn_texts(b)
    assert any("failed" in t for t in texts), texts
    b.find(op="bpy.ops.viga.resume_run(")  # offered


def test_the_cost_cap_stops_and_a_cap_raised_in_the_panel_resumes(
    blender_factory, tmp_path, artifacts
):
    seen = []
    with fake_server() as server:
        server.respond_with(script_responder(demo_script(), usage=USAGE, seen=seen))
        b = blender_factory(
            args=["--online-mode"],
            env={"ANTHROPIC_API_KEY": "sk-ant-test-not-a-key", "ANTHROPIC_BASE_URL": server.url},
        )
        shot = Shots(b, artifacts)
        cap = round(3.5 * PER_REQUEST, 4)
        set_prefs(b, default_provider="anthropic", max_cost=cap, **TINY_PREFS)
        b.open_tab("VIGA")
        b.click(path="viga.photo_path")
        b.key("ctrl+a")
        b.type_text(str(tabletop.PHOTO))
        b.key("Return")
        wait_for(
            lambda: b.eval("bpy.context.scene.viga.photo_path") == str(tabletop.PHOTO), 20, "photo"
        )
        start_run(b)
        state = b.wait_status("paused", "failed", "done", timeout=300)
        assert state["error_type"] == "CostCapReached", state
        shot("capped")
        assert any("cost cap" in t for t in drawn_texts(b, "VIGA_PT_progress"))
        stopped_after = len(seen)
        b.click(path="max_cost", lowest=True)  # the capped box's (the Model box's is off)
        b.key("ctrl+a")
        b.type_text("100")
        b.key("Return")
        wait_for(
            lambda: b.eval("addon_module('ui.preferences').prefs().max_cost") == 100.0, 20, "cap"
        )
        b.click(op="bpy.ops.viga.resume_run(")
        state = b.wait_status("done", "paused", "failed", timeout=600)
        assert state["status"] == "done", state
        shot("done-after-cap")
    assert len(seen) > stopped_after
