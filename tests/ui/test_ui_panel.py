"""What the VIGA sidebar shows in each run state, drawn into a recording layout (no window):
idle, no image, no key, online access off, scripted demo, running, paused (with objects deleted
by hand), review, done, failed, cancelled, a run going in another scene."""

from __future__ import annotations

import os

import bpy
import pytest
from ui_support import (
    PauseHarness,
    demo_script,
    draw_all,
    draw_panel,
    pump_until,
    start_modal_run,
    use_demo,
    write_script,
)

from viga_addon.ui import live as rt
from viga_addon.ui.panels import main_panel as mp

DUMP_DIR = os.environ.get("VIGA_PANEL_DUMPS")  # set to keep the recordings (for the report)


def _keep(name, layout):
    if DUMP_DIR:
        os.makedirs(DUMP_DIR, exist_ok=True)
        with open(os.path.join(DUMP_DIR, f"{name}.txt"), "w") as f:
            f.write(layout.dump() + "\n")


# ----------------------------------------------------------------------------- before a run
@pytest.mark.smoke
def test_idle_without_an_image(addon):
    shown = draw_all()
    _keep("idle_no_image", shown)
    text = shown.texts()
    assert "To start:" in text and "Photo" in text  # the checklist of what is missing
    assert "Choose a reference photo" in shown.tips()
    assert {"viga.pick_photo", "viga.use_demo_photo"} <= set(shown.buttons())
    run = shown.button_items("viga.run")
    assert len(run) == 1 and not run[0]["enabled"]  # Reconstruct is greyed out
    assert "Planned stages:" in text  # each stage with its budget
    assert "Nothing running" in text and "No verdict yet" in text


@pytest.mark.smoke
def test_no_key_says_where_to_set_it(addon):
    use_demo()
    bpy.context.scene.viga.provider = "anthropic"
    shown = draw_panel(mp.VIGA_PT_main)
    _keep("no_key", shown)
    tips = shown.tips()
    assert "API key" in shown.texts() and "viga.open_addon_prefs" in shown.buttons()
    assert "No Anthropic API key" in tips
    assert "Edit › Preferences › Add-ons › VIGA" in tips and "ANTHROPIC_API_KEY" in tips
    assert not shown.button_items("viga.run")[0]["enabled"]
    assert "viga.use_demo_photo" in shown.buttons()  # the offline demo is always offered
    assert any(
        it["alert"]
        for it in shown.items
        if it.get("idname") == "viga.explain" and it["text"] == "API key"
    )


@pytest.mark.smoke
def test_online_access_off_says_how_to_turn_it_on(addon, monkeypatch):
    use_demo()
    bpy.context.scene.viga.provider = "anthropic"
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789")
    shown = draw_panel(mp.VIGA_PT_main)
    _keep("online_off", shown)
    tips = shown.tips()
    assert "No Anthropic API key" not in tips
    assert "key from the environment variable ANTHROPIC_API_KEY" in tips
    assert "Online access" in shown.texts() and "viga.open_system_prefs" in shown.buttons()
    assert "online access is off" in tips
    assert "Preferences › System › Allow Online Access" in tips and "--online-mode" in tips
    assert not shown.button_items("viga.run")[0]["enabled"]
    assert "sk-ant-test" not in shown.dump()  # the key itself is never shown


@pytest.mark.smoke
def test_key_in_preferences_is_named_as_the_source(addon):
    use_demo()
    bpy.context.scene.viga.provider = "openai"
    addon.openai_api_key = "sk-test-abcdef0123456789"
    addon.base_url = "http://localhost:11434/v1"
    shown = draw_panel(mp.VIGA_PT_main)
    tips = shown.tips()
    assert "key from the add-on preferences" in tips
    assert "online access is off" not in tips  # a local server needs no online access
    assert shown.button_items("viga.run")[0]["enabled"]
    assert "sk-test-abcdef" not in shown.dump()


@pytest.mark.smoke
def test_scripted_demo_is_labelled_and_ready(addon):
    use_demo()
    shown = draw_all()
    _keep("idle_scripted_ready", shown)
    assert rt.SCRIPTED_NOTE in shown.tips() and "Offline demo" in shown.texts()
    assert "note" in {it.get("prop") for it in shown.items}  # the artist's note
    drawn = {it["prop"] for it in shown.items if it["kind"] == "prop"}
    assert {"review_code", "pause_after"} <= drawn  # step-through options of the next run
    assert shown.button_items("viga.run")[0]["enabled"]
    assert not [it for it in shown.items if it["alert"]]


# ----------------------------------------------------------------------------- during a run
def _stage_rows(shown):
    """{stage: [its status word (the name's tooltip), then the texts and buttons of its row]}
    from the Stages sub-panel."""
    rows, current = {}, None
    names = rt_stage_names()
    for it in shown.items:
        explain = it.get("idname") == "viga.explain"
        if explain and (it["text"] or "").lower() in names:
            current = it["text"].lower()
            rows[current] = [it["props"].props["text"].split(": ", 1)[1]]
        elif current and (it["kind"] == "label" or explain):
            rows[current].append(it["text"])
        elif current and it["kind"] == "operator":
            rows[current].append(f"<{it['idname']} {'on' if it['enabled'] else 'off'}>")
    return rows


def rt_stage_names():
    from viga_addon.stages import STAGE_NAMES

    return set(STAGE_NAMES)


def test_panel_through_a_run(addon, tmp_path):
    """running → paused (objects deleted by hand) → done → reverted; checked at each state."""
    addon.pause_after = "STAGE"
    script = demo_script()  # the first request takes a second, so "thinking" is seen
    script["init"]["generator"][0][0] = {**script["init"]["generator"][0][0], "delay": 1.0}
    use_demo(write_script(tmp_path, script))
    op, ctx, _ = start_modal_run()
    live = rt.any_live_run()
    pump_until(op, ctx, stop=lambda lv: lv.session.state.awaiting)
    shown = draw_all()
    _keep("running", shown)
    text = shown.texts()
    assert {"viga.pause", "viga.step_round", "viga.cancel"} <= set(shown.buttons())
    assert "viga.run" not in shown.buttons()
    assert "model is thinking" in text
    assert rt.SCRIPTED_NOTE in shown.tips()
    assert [it for it in shown.items if it["kind"] == "progress"]
    assert "$0.00 · 0 tok" in text  # cost and tokens in one line, the split in its tooltip
    assert "0 uncached" in shown.tips()
    rows = _stage_rows(shown)
    assert list(rows) == ["init", "geometry", "material", "composition", "lighting", "camera"]
    assert rows["init"][:2] == ["running", "1/2"]
    assert "final.blend" not in text
    assert rows["geometry"][:2] == ["waiting", "0/5"]

    pump_until(op, ctx, stop=lambda lv: lv.status == "paused")  # after init
    bpy.data.objects.remove(bpy.context.scene.objects["red_ball"], do_unlink=True)
    shown = draw_all()
    _keep("paused_with_deletion", shown)
    text = shown.texts()
    assert "paused after init" in text
    assert "Deleted by hand: red_ball" in text
    assert {"viga.resume_run", "viga.step_round", "viga.cancel"} <= set(shown.buttons())
    rows = _stage_rows(shown)
    assert rows["init"][0] in ("approved", "budget spent")
    assert any(label.replace(".", "", 1).isdigit() for label in rows["init"])  # its PSNR
    assert "<viga.revert_stage on>" in rows["init"]
    revert = [it for it in shown.button_items("viga.revert_stage")]
    assert [it["props"].props for it in revert] == [{"stage": "init"}]
    assert "Init 2: approved" in text or "Init 2: to fix" in text

    live.session.state.settings = live.session.state.settings.with_changes(pause_after=None)
    PauseHarness().execute(ctx)  # resume: the deletion is kept and reported
    assert pump_until(op, ctx) == {"FINISHED"}
    shown = draw_all()
    _keep("done", shown)
    text = shown.texts()
    assert "Done: editable scene" in text
    assert "final.blend, final.png and scene.py are in the run folder" in text
    assert "100%" in [it for it in shown.items if it["kind"] == "progress"][0]["text"]
    assert "Hand edits kept: removed objects: red_ball" in text
    rows = _stage_rows(shown)
    assert all(r[0] in ("approved", "budget spent") for r in rows.values()), rows
    assert len(shown.button_items("viga.revert_stage")) == 6
    assert "Camera 1: approved" in text

    bpy.ops.viga.revert_stage(stage="geometry")
    shown = draw_all()
    _keep("after_revert", shown)
    text = shown.texts()
    assert "reverted to the end of geometry" in text
    rows = _stage_rows(shown)
    assert rows["material"][:2] == ["waiting", "0/3"]
    assert "viga.resume_run" in shown.buttons()


def test_review_state_shows_approve_and_skip(addon):
    addon.review_code = True
    use_demo()
    op, ctx, _ = start_modal_run()
    pump_until(op, ctx, stop=lambda lv: lv.status == "review")
    shown = draw_all()
    _keep("review", shown)
    text = shown.texts()
    assert "Review the code" in text and rt.CODE_TEXT_NAME in shown.tips()
    assert {"viga.approve_code", "viga.skip_code", "viga.open_code", "viga.cancel"} <= set(
        shown.buttons()
    )
    assert "viga.pause" not in shown.buttons()
    assert _stage_rows(shown)["init"][0] == "review"
    revert = shown.button_items("viga.revert_stage")
    assert all(not it["enabled"] for it in revert)  # no stage changes mid-review
    bpy.ops.viga.cancel()
    pump_until(op, ctx)
    shown = draw_all()
    _keep("cancelled", shown)
    assert "cancelled: cancelled; resume to continue" in shown.texts()
    assert {"viga.resume_run", "viga.run"} <= set(shown.buttons())


def test_failed_run_says_why(addon, tmp_path):
    script = demo_script()
    script["geometry"]["generator"][0][0] = {"fault": "auth"}
    use_demo(write_script(tmp_path, script))
    op, ctx, _ = start_modal_run()
    assert pump_until(op, ctx) == {"FINISHED"}
    shown = draw_all()
    _keep("failed", shown)
    text = shown.texts()
    assert "failed: Scripted fault: API key rejected" in text
    assert any(
        it["alert"]
        for it in shown.items
        if it["kind"] == "label" and it["text"].startswith("failed")
    )
    assert {"viga.resume_run", "viga.run"} <= set(shown.buttons())
    assert _stage_rows(shown)["geometry"][0] == "stopped"


def test_a_run_in_another_scene_is_announced(addon):
    use_demo()
    op, ctx, _ = start_modal_run()
    live = rt.any_live_run()
    other = bpy.data.scenes.new("Other")
    window_scene = bpy.context.scene
    # draw as if the window showed the other scene
    fake = type("Ctx", (), {"scene": other, "preferences": bpy.context.preferences})()
    other.viga.photo_path = window_scene.viga.photo_path
    other.viga.provider = "scripted"
    shown = draw_panel(mp.VIGA_PT_main, fake)
    _keep("other_scene_running", shown)
    assert f"A run is going in scene {live.scene_name!r}" in shown.texts()
    assert not shown.button_items("viga.run")[0]["enabled"]
    bpy.ops.viga.cancel()
    pump_until(op, ctx)


# ----------------------------------------------------------------------------- preferences
@pytest.mark.smoke
def test_preferences_page_says_where_keys_live(addon):
    from ui_support import RecordingLayout

    from viga_addon.ui.preferences import draw_preferences

    layout = RecordingLayout()
    draw_preferences(addon, layout, bpy.context)
    _keep("preferences", layout)
    text = layout.texts()
    assert "never in .blend files, run folders or logs" in text
    assert "ANTHROPIC_API_KEY: not set" in text and "OPENAI_API_KEY: not set" in text
    props = {it["prop"] for it in layout.items if it["kind"] == "prop"}
    assert {
        "anthropic_api_key",
        "openai_api_key",
        "default_provider",
        "default_model",
        "base_url",
        "render_device",
        "preview_size",
        "review_code",
        "pause_after",
        "runs_dir",
        "budget_geometry",
        "budget_camera",
    } <= props


def test_the_note_field_goes_into_the_run(addon):
    use_demo()
    bpy.context.scene.viga.note = "  The table is oak.  "
    op, ctx, _ = start_modal_run()
    live = rt.any_live_run()
    assert live.session.state.settings.note == "The table is oak."
    assert live.session.store.run_info()["settings"]["note"] == "The table is oak."
    bpy.ops.viga.cancel()


def test_cost_and_tokens_in_one_line():
    from dataclasses import replace

    from viga_addon.agent.progress import progress_of, short_count
    from viga_addon.agent.settings import Settings
    from viga_addon.agent.state import RunState, Totals

    state = RunState(settings=Settings(), reference={}, stage_order=[], stages={})
    state.totals = Totals(
        input_tokens=20_400,
        cache_write_tokens=30_100,
        cache_read_tokens=26_300,
        output_tokens=5_500,
        cost_usd=0.2312,
    )
    p = progress_of(state)
    assert p.cost_line() == "$0.23 · 82k tok (26k cached)"
    assert "20,400 uncached" in "\n".join(p.token_lines())  # the split, for the tooltip
    empty = replace(p, totals=Totals())
    assert empty.cost_line() == "$0.00 · 0 tok"
    assert [short_count(n) for n in (950, 8_200, 1_300_000)] == ["950", "8.2k", "1.3M"]


def test_messages_wrap_to_the_sidebar_and_again_when_it_narrows():
    from types import SimpleNamespace

    from viga_addon.ui.panels import text_fit

    message = (
        "Scripted fault: the model service answered 529 (overloaded) five times; resume later."
    )
    prefs = bpy.context.preferences

    def lines_at(width):
        ctx = SimpleNamespace(region=SimpleNamespace(width=width), preferences=prefs)
        room = text_fit.available(ctx, boxes=1, icon=True)
        lines = text_fit.wrap_lines(message, room, text_fit.ui_scale(ctx))
        scale = text_fit.ui_scale(ctx)
        assert all(text_fit.text_width(line, scale) <= room for line in lines), lines
        assert " ".join(lines) == message  # nothing lost
        return lines

    wide, narrow = lines_at(290), lines_at(200)
    assert len(narrow) > len(wide) >= 2
