"""Make it Move in a real window: the saved demo scene, the prompt typed into the sub-panel,
the button clicked; the interaction run ends done with every bake in the render process, the
can knocked over, and the sub-panel says so."""

from __future__ import annotations

import json
from pathlib import Path

from flows import Shots, drawn_texts, open_panel
from scripts import TINY_PREFS
from userhome import REPO
from window import set_prefs, wait_for

PROMPT = "roll the red ball into the yellow can"
WRITE_SCENE = (
    "import sys; sys.path.insert(0, {repo!r}); "
    "from viga_addon.demo import tabletop_edit; "
    "tabletop_edit.write_start_scene({path!r}, perturb=False)"
)


def test_make_it_move_from_the_panel(box, home, blender_factory, tmp_path, artifacts):
    path = tmp_path / "tabletop.blend"
    done = box.run(
        [
            box.spec.blender,
            "-b",
            "--python-expr",
            WRITE_SCENE.format(repo=str(REPO), path=str(path)),
        ],
        env={"HOME": str(home)},
        timeout=120,
    )
    assert done["rc"] == 0 and path.is_file(), done["err"][-2000:]
    b = blender_factory(args=[str(path)])
    shot = Shots(b, artifacts)
    set_prefs(b, **TINY_PREFS)  # no demo script: the bundled interaction plays
    b.open_tab("VIGA")
    b.click(op="bpy.ops.viga.use_demo_photo(")
    open_panel(b, "VIGA_PT_interact")
    b.exec("bpy.context.scene.viga.interaction_frames = 24")
    b.click(path="viga.interaction_prompt")
    b.type_text(PROMPT)
    b.key("Return")
    wait_for(
        lambda: b.eval("bpy.context.scene.viga.interaction_prompt") == PROMPT, 20, "the prompt"
    )
    shot("prompt")
    b.click(op="bpy.ops.viga.make_it_move(")
    state = b.wait_status("done", "failed", "paused", timeout=600)
    assert state["status"] == "done", state
    run = Path(b.eval("bpy.context.scene.viga.run_dir"))
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["interaction"]["trajectories"]["yellow_can"]["tilt_deg"] > 45
    assert len(list((run / "frames").glob("*.png"))) == 24 and (run / "preview.gif").exists()
    assert b.eval("addon_module('ui.live').any_live_run().host.warnings") == []
    assert any("yellow_can tilted" in t for t in drawn_texts(b, "VIGA_PT_interact"))
    shot("moved")
