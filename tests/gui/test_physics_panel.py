"""The Physics sub-panel in a real window: Check Physics clicked (the settle check in a render
process, not in Blender), its summary and verdicts drawn, Apply Rigid Bodies clicked, then one
real Ctrl+Z takes the rigid bodies away."""

from __future__ import annotations

from flows import Shots, drawn_texts, open_panel
from scripts import TINY_PREFS
from userhome import REPO
from window import set_prefs, wait_for

# the demo photo's own scene: its ball floats 10 cm above the ground
WRITE_SCENE = (
    "import sys; sys.path.insert(0, {repo!r}); "
    "from viga_addon.demo import tabletop_edit; "
    "tabletop_edit.write_start_scene({path!r}, perturb=False)"
)
OPS = "addon_module('ui.operators.physics')"
BODIES = "{o.name: o.rigid_body.type for o in bpy.context.scene.objects if o.rigid_body}"


def test_check_physics_then_apply_rigid_bodies_then_ctrl_z(
    box, home, blender_factory, tmp_path, artifacts
):
    path = tmp_path / "truth.blend"
    script = WRITE_SCENE.format(repo=str(REPO), path=str(path))
    done = box.run(
        [box.spec.blender, "-b", "--python-expr", script], env={"HOME": str(home)}, timeout=120
    )
    assert done["rc"] == 0 and path.is_file(), done["err"][-2000:]
    b = blender_factory(args=[str(path)])
    shot = Shots(b, artifacts)
    set_prefs(b, **TINY_PREFS)
    b.open_tab("VIGA")
    b.click(op="bpy.ops.viga.use_demo_photo(")
    shot("sidebar")
    open_panel(b, "VIGA_PT_physics")
    b.click(op="bpy.ops.viga.check_physics(")
    wait_for(
        lambda: b.eval(f"{OPS}.RESULTS.get(bpy.context.scene.name)") is not None,
        120,
        "the physics check",
    )
    pids = b.eval("[p.pid for p in addon_module('ui.operators.refine').PROCESSES]")
    assert pids and b.eval("__import__('os').getpid()") not in pids  # not in Blender
    result = b.eval(f"{OPS}.RESULTS[bpy.context.scene.name]")
    assert result["summary"] == "stable 2/3 · red_ball floats 10.0 cm", result
    assert not result["warning"], result["warning"]
    assert b.eval("bpy.context.scene.rigidbody_world") is None  # the check changed nothing
    texts = drawn_texts(b, "VIGA_PT_physics")
    assert "stable 2/3 · red_ball floats 10.0 cm" in texts, texts
    assert "red_ball" in texts and "floats 10.0 cm" in texts, texts
    shot("checked")
    b.click(op="bpy.ops.viga.apply_rigid_bodies(")
    wait_for(lambda: b.eval(BODIES) != {}, 20, "the rigid bodies")
    assert b.eval(BODIES) == {
        "ground": "PASSIVE",
        "red_ball": "ACTIVE",
        "blue_box": "ACTIVE",
        "yellow_can": "ACTIVE",
    }
    shot("applied")
    view = b.geometry()["regions"]["WINDOW"]
    b.move(view["x"] + view["width"] // 3, view["y"] + view["height"] // 2)
    b.key("ctrl+z")
    wait_for(lambda: b.eval(BODIES) == {}, 20, "Ctrl+Z to take the rigid bodies away")
    assert b.eval("bpy.context.scene.rigidbody_world") is None
