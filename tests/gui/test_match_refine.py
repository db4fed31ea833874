"""Match this scene to the photo, then Put the Scene Back; Refine in the render process, then
one real Ctrl+Z puts the scene back."""

from __future__ import annotations

from flows import Shots, open_panel
from scripts import TINY_PREFS
from userhome import REPO
from window import set_prefs, wait_for

WRITE_START = (
    "import sys; sys.path.insert(0, {repo!r}); "
    "from viga_addon.demo import tabletop_edit; tabletop_edit.write_start_scene({path!r})"
)
TRANSFORMS = (
    "{o.name: [round(v, 4) for v in (*o.location, *o.rotation_euler, *o.scale)] "
    "for o in bpy.context.scene.objects}"
)
SUN = "round(bpy.data.objects['sun'].data.energy, 4)"


def start_scene(box, home, folder):
    """The demo scene, spoilt (tabletop_edit), written by the Blender under test."""
    path = folder / "start.blend"
    script = WRITE_START.format(repo=str(REPO), path=str(path))
    done = box.run(
        [box.spec.blender, "-b", "--python-expr", script], env={"HOME": str(home)}, timeout=120
    )
    assert done["rc"] == 0 and path.is_file(), done["err"][-2000:]
    return path


def test_match_then_put_the_scene_back(box, home, blender_factory, tmp_path, artifacts):
    b = blender_factory(args=[str(start_scene(box, home, tmp_path))])
    shot = Shots(b, artifacts)
    set_prefs(b, **TINY_PREFS)  # no demo script: Match plays the bundled edit script
    before = b.eval(TRANSFORMS)
    b.open_tab("VIGA")
    b.click(op="bpy.ops.viga.use_demo_photo(")
    b.click(op="bpy.ops.viga.match_scene(")
    state = b.wait_status("done", "failed", "paused", timeout=600)
    assert state["status"] == "done", state
    shot("matched")
    assert b.eval(TRANSFORMS) != before  # the edit script moved objects toward the photo
    assert b.eval("bpy.context.scene.name") == state["scene"]  # the artist's own scene
    b.click(op="bpy.ops.viga.match_put_back(")
    wait_for(lambda: b.eval(TRANSFORMS) == before, 30, "the scene put back")
    shot("put-back")


def test_refine_in_the_render_process_then_ctrl_z(box, home, blender_factory, tmp_path, artifacts):
    b = blender_factory(args=[str(start_scene(box, home, tmp_path))])
    shot = Shots(b, artifacts)
    set_prefs(b, **TINY_PREFS)
    b.open_tab("VIGA")
    b.click(op="bpy.ops.viga.use_demo_photo(")
    open_panel(b, "VIGA_PT_refine")
    before = b.eval(SUN)
    b.click(op="bpy.ops.viga.refine(")
    wait_for(lambda: b.eval("addon_module('ui.operators.refine').JOBS") != {}, 20, "the refinement")
    pids = b.eval("[p.pid for p in addon_module('ui.operators.refine').PROCESSES]")
    assert pids and b.eval("__import__('os').getpid()") not in pids  # not in Blender
    shot("refining")
    wait_for(
        lambda: b.eval("addon_module('ui.operators.refine').JOBS") == {}, 600, "the refinement end"
    )
    summary = b.eval("addon_module('ui.operators.refine').LAST.get(bpy.context.scene.name)")
    assert summary and b.eval(SUN) != before, summary
    shot("refined")
    view = b.geometry()["regions"]["WINDOW"]
    b.move(view["x"] + view["width"] // 3, view["y"] + view["height"] // 2)
    b.key("ctrl+z")
    wait_for(lambda: b.eval(SUN) == before, 20, "Ctrl+Z to put the sun back")
