"""Code review on the headless path (``bpy.ops.viga.*`` called from a script, as in
``blender -b``), where operators run ``execute`` and nothing goes modal: code approved unedited
runs as the model wrote it, is recorded as approved (not as the artist's edit), and the model is
not told it was edited; an edit is recorded and told."""

from __future__ import annotations

import bpy
import pytest
from ui_support import use_demo

from viga_addon.ui import live as rt


def _generator_told_of_edit(session) -> bool:
    conv = session.state.stages["init"].generator_conv or session.state.conv
    texts = [
        inner.get("text", "")
        for m in conv.messages
        for part in m["content"]
        for inner in [part, *part.get("content", [])]
        if isinstance(inner, dict)
    ]
    return any("The artist edited your code" in t for t in texts)


@pytest.mark.smoke
def test_unedited_code_approved_headless_is_not_the_artists_edit(addon):
    addon.review_code = True
    use_demo()
    assert bpy.ops.viga.run() == {"FINISHED"}
    live = rt.any_live_run()
    assert live.status == "review"
    text = bpy.data.texts[rt.CODE_TEXT_NAME]
    first_line = text.as_string().split("\n", 1)[0]
    assert first_line.startswith(rt.CODE_HEADER)  # the header the add-on put there
    assert rt.code_from_text(text).strip() == live.session.code_under_review.strip()
    assert bpy.ops.viga.approve_code() == {"FINISHED"}
    assert live.session.state.pending[0].reviewed == "approved"
    assert not _generator_told_of_edit(live.session)
    # continue headless: the approved call runs (the round is not restarted from the folder)
    assert bpy.ops.viga.resume_run() == {"FINISHED"}
    assert rt.any_live_run() is live
    code = (live.session.run_dir / "stages/init/round_1/code.py").read_text()
    assert "# --- execute_code #1 (ok)" in code and "edited by the artist" not in code
    assert not _generator_told_of_edit(live.session)
    bpy.ops.viga.cancel()


@pytest.mark.smoke
def test_code_edited_headless_is_recorded_and_told(addon):
    addon.review_code = True
    use_demo()
    bpy.ops.viga.run()
    live = rt.any_live_run()
    text = bpy.data.texts[rt.CODE_TEXT_NAME]
    text.write("\nprint('artist was here')\n")
    assert bpy.ops.viga.approve_code() == {"FINISHED"}
    assert live.session.state.pending[0].reviewed == "edited"
    bpy.ops.viga.resume_run()
    code = (live.session.run_dir / "stages/init/round_1/code.py").read_text()
    assert "artist was here" in code and "edited by the artist" in code
    assert _generator_told_of_edit(live.session)
    bpy.ops.viga.cancel()


def test_the_modal_pump_keeps_the_artists_edits_while_the_code_waits(addon):
    """In a window the pump ticks on while the code waits for review; each tick used to write
    the code into the text again, wiping what the artist was typing (seen in a real window)."""
    from ui_support import event, pump_until, start_modal_run

    addon.review_code = True
    use_demo()
    op, ctx, _ = start_modal_run()
    pump_until(op, ctx, stop=lambda live: live.status == "review")
    text = bpy.data.texts[rt.CODE_TEXT_NAME]
    text.write("\nprint('typed while waiting')\n")
    for _ in range(5):
        assert op.modal(ctx, event("TIMER")) == {"PASS_THROUGH"}
    assert "typed while waiting" in text.as_string()
    assert bpy.ops.viga.open_code() == {"FINISHED"}  # Show Code keeps them too
    assert "typed while waiting" in bpy.data.texts[rt.CODE_TEXT_NAME].as_string()
    live = rt.any_live_run()
    assert bpy.ops.viga.approve_code() == {"FINISHED"}
    assert live.session.state.pending[0].reviewed == "edited"
    pump_until(op, ctx, stop=lambda live: live.status == "review")  # the next piece of code
    assert "typed while waiting" not in bpy.data.texts[rt.CODE_TEXT_NAME].as_string()
    bpy.ops.viga.cancel()
    op.modal(ctx, event("TIMER"))
