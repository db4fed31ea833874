"""The offline demo pressed from the panel, run to done, watched in every phase."""

from scripts import TINY_PREFS, demo_script, write
from window import set_prefs, wait_for


def test_offline_demo_from_the_panel(blender, artifacts, tmp_path):
    b = blender
    script = write(tmp_path, demo_script({("init", "selector"): 4.0}))
    set_prefs(b, demo_script=script, **TINY_PREFS)
    b.open_tab("VIGA")
    b.screenshot(artifacts / "01-first-open.png")
    b.click(op="bpy.ops.viga.use_demo_photo(")
    wait_for(lambda: b.eval("bpy.context.scene.viga.provider") == "scripted", 10, "the demo")
    b.click(op="bpy.ops.viga.run(")
    b.wait_live(lambda s: s["phase"] == "select", 300, "init's selector")
    n = b.eval("draws()").get("VIGA_PT_progress", 0)
    wait_for(lambda: b.eval("draws()").get("VIGA_PT_progress", 0) > n + 1, 20, "redraws")
    b.screenshot(artifacts / "02-select.png")
    texts = b.eval("drawn('VIGA_PT_progress')")["VIGA_PT_progress"]["texts"]
    assert any("select" in t.lower() or "compar" in t.lower() for t in texts), texts
    state = b.wait_status("done", timeout=600)
    b.screenshot(artifacts / "03-done.png")
    assert state["finished"]
