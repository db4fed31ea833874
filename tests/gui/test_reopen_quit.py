"""A .blend saved mid-run, reopened in a new Blender and resumed from the panel; Blender quit
with Ctrl+Q mid-run: no process left behind and the run folder resumes."""

from __future__ import annotations

import json
from pathlib import Path

from flows import Shots, drawn_texts, ready_demo, start_run
from scripts import demo_script
from userhome import REPO
from window import processes_of, wait_for


def test_a_file_saved_mid_run_reopens_and_resumes(blender_factory, tmp_path, artifacts):
    b = blender_factory()
    ready_demo(b, tmp_path, pause_after="STAGE")
    start_run(b)
    state = b.wait_status("paused", timeout=300)
    blend = tmp_path / "mid-run.blend"
    b.exec(f"bpy.ops.wm.save_as_mainfile(filepath={str(blend)!r})")  # set-up: the save
    b.close()
    again = blender_factory(args=[str(blend)])
    again.open_tab("VIGA")
    shot = Shots(again, artifacts)
    shot("reopened")
    texts = drawn_texts(again)
    assert any(t.startswith("Saved mid-run") for t in texts), texts
    again.click(op="bpy.ops.viga.resume_run(")
    resumed = again.wait_status("paused", timeout=300)  # the run's own pause after each stage
    assert resumed["stage"] != state["stage"], (state, resumed)
    for _ in range(6):
        if again.live()["status"] == "done":
            break
        again.click(op="bpy.ops.viga.resume_run(")
        again.wait_status("paused", "done", timeout=300)
    done = again.wait_status("done", timeout=10)
    assert done["run_dir"] == state["run_dir"]
    shot("done")


def test_quitting_blender_mid_run_leaves_no_process_and_the_run_resumes(
    box, home, blender_factory, tmp_path
):
    b = blender_factory()
    b.exec("bpy.context.preferences.view.use_save_prompt = False")  # set-up: quit at once
    ready_demo(b, tmp_path, demo_script(think=1.0))
    start_run(b)
    state = b.wait_live(lambda s: s["stage"] == "geometry", 300, "the geometry stage")
    session = b.env["VIGA_GUI_SESSION"]
    assert len(processes_of(session)) >= 2  # Blender and the run's model worker at least
    view = b.geometry()["regions"]["WINDOW"]
    b.move(view["x"] + view["width"] // 3, view["y"] + view["height"] // 2)
    b.key("ctrl+q")
    wait_for(b.exited, 60, "Blender to quit")
    wait_for(
        lambda: not processes_of(session),
        30,
        "every process of the run to end",
        detail=lambda: processes_of(session),
    )
    run_dir = Path(state["run_dir"])
    saved = json.loads((run_dir / "state.json").read_text())
    assert saved["status"] in ("paused", "running"), saved["status"]
    done = box.run(
        [
            box.spec.blender,
            "-b",
            "--python",
            str(REPO / "viga_addon" / "__main__.py"),
            "--",
            "reconstruct",
            "--resume",
            str(run_dir),
            "--provider",
            "scripted",
            "--script",
            str(tmp_path / "demo_script.json"),
        ],
        env={"HOME": str(home)},
        timeout=900,
    )
    assert done["rc"] == 0, done["err"][-3000:]
    assert json.loads((run_dir / "state.json").read_text())["status"] == "done"
