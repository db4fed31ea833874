"""Preferences and run inputs: where keys come from and where they never go, settings taken from
the preferences, the reference as a file or as an image datablock."""

from __future__ import annotations

import time
from pathlib import Path

import bpy
import pytest
from fake_model_server import fake_server
from pipeline_helpers import demo_script, flatten_script
from ui_support import event, start_modal_run, use_demo

from viga_addon.agent.photo import prepare_reference
from viga_addon.agent.settings import Settings
from viga_addon.demo import tabletop
from viga_addon.ui import live as rt

SECRET = "sk-viga-ui-test-SECRET-7f3a9c"


@pytest.mark.smoke
def test_key_fields_are_passwords_in_preferences_and_absent_from_scene_data(addon):
    rna = type(addon).bl_rna.properties
    for provider in ("anthropic", "openai"):
        assert rna[f"{provider}_api_key"].subtype == "PASSWORD"
    scene_props = bpy.context.scene.viga.bl_rna.properties
    assert not [p.identifier for p in scene_props if "key" in p.identifier.lower()]


@pytest.mark.smoke
def test_key_lookup_preferences_then_environment(addon, monkeypatch):
    assert rt.api_key("anthropic", addon) == (None, "")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "  env-key-123  ")
    assert rt.api_key("anthropic", addon) == (
        "env-key-123",
        "environment variable ANTHROPIC_API_KEY",
    )
    addon.anthropic_api_key = "pref-key-456"
    assert rt.api_key("anthropic", addon) == ("pref-key-456", "add-on preferences")
    assert rt.api_key("scripted", addon) == (None, "no key needed")
    assert rt.api_key("openai", None) == (None, "")


@pytest.mark.smoke
def test_choice_follows_preferences_and_scene_overrides(addon, monkeypatch):
    use_demo()
    props = bpy.context.scene.viga
    props.provider = "DEFAULT"
    addon.default_provider = "openai"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    choice = rt.choose(bpy.context)
    assert (choice.provider, choice.model) == ("openai", "gpt-4o")
    assert [code for code, _ in choice.problems] == ["offline"]  # api.openai.com, access off
    addon.default_model = "gpt-4.1-mini"
    assert rt.choose(bpy.context).model == "gpt-4.1-mini"
    props.model = "my-model"
    assert rt.choose(bpy.context).model == "my-model"
    props.provider = "scripted"
    choice = rt.choose(bpy.context)
    assert choice.ok and choice.model.startswith("scripted-demo")


@pytest.mark.smoke
def test_settings_come_from_the_preferences(addon):
    addon.budget_geometry = 2
    addon.budget_init = 1
    addon.review_code = True
    addon.pause_after = "ROUND"
    addon.render_device = "GPU"
    s = rt.settings_from_prefs(addon)
    assert s.budgets["geometry"] == 2 and s.rollouts == 1 and s.budget("init") == 1
    assert s.review_code is True and s.pause_after == "round"
    assert s.render_device == "gpu" and s.engine == "CYCLES"
    assert s.preview_size == 48 and s.final_samples == 2
    addon.pause_after = "NONE"
    assert rt.settings_from_prefs(addon).pause_after is None
    assert rt.settings_from_prefs(None) == Settings()  # no preferences: the defaults


def test_budgets_from_preferences_reach_the_run(addon):
    addon.budget_geometry = 2
    addon.budget_init = 1
    use_demo()
    op, ctx, _ = start_modal_run()
    live = rt.any_live_run()
    budgets = {s.name: s.budget for s in live.session.stages}
    assert budgets["geometry"] == 2 and budgets["init"] == 1
    import json

    info = json.loads((live.session.run_dir / "run.json").read_text())
    assert info["settings"]["budgets"]["geometry"] == 2
    bpy.ops.viga.cancel()
    op.modal(ctx, event("TIMER"))


# ----------------------------------------------------------------------------- the reference
@pytest.mark.smoke
def test_image_datablock_as_the_reference(addon, tmp_path):
    props = bpy.context.scene.viga
    props.photo_source = "IMAGE"
    assert rt.choose(bpy.context).problems[0][0] == "no_image"
    image = bpy.data.images.load(str(tabletop.PHOTO))
    props.photo_image = image
    photo, label, problem = rt.photo_from_props(props, resolve=True)
    assert problem is None and Path(photo) == tabletop.PHOTO and label == image.name
    image.pack()
    photo, _, problem = rt.photo_from_props(props, resolve=True)
    assert problem is None and Path(photo) != tabletop.PHOTO
    assert Path(photo).read_bytes() == tabletop.PHOTO.read_bytes()
    generated = bpy.data.images.new("painted", 40, 24)
    generated.pixels[:] = [0.2, 0.4, 0.6, 1.0] * (40 * 24)
    props.photo_image = generated
    assert rt.photo_from_props(props, resolve=False)[2] is None  # no disk write on redraw
    photo, _, problem = rt.photo_from_props(props, resolve=True)
    assert problem is None
    info = prepare_reference(photo, tmp_path / "ref.png")
    assert (info["width"], info["height"]) == (40, 24)
    missing = bpy.data.images.load(str(tabletop.PHOTO))
    missing.filepath = str(tmp_path / "gone.png")
    missing.reload()
    props.photo_image = missing
    _, _, problem = rt.photo_from_props(props, resolve=True)
    assert problem and problem[0] == "bad_image"


# ----------------------------------------------------------------------------- keys stay put
def test_key_goes_to_the_provider_only_never_to_blend_or_run_folder(addon, tmp_path):
    use_demo()
    props = bpy.context.scene.viga
    props.provider = "openai"
    addon.openai_api_key = SECRET
    with fake_server() as server:
        for reply in flatten_script(demo_script(), ["init"])[:2]:
            server.queue(reply)
        addon.base_url = server.url + "/v1"
        assert rt.choose(bpy.context).ok  # a local server: no online access needed
        op, ctx, result = start_modal_run()
        assert result == {"RUNNING_MODAL"}, op.reports
        live = rt.any_live_run()
        deadline = time.monotonic() + 60
        while not server.requests and time.monotonic() < deadline:
            op.modal(ctx, event("TIMER"))
            time.sleep(0.02)
        assert server.requests, live.session.progress()
        assert SECRET in server.requests[0]["headers"].get("authorization", "")
        bpy.ops.viga.cancel()
        op.modal(ctx, event("TIMER"))
    run_dir = live.session.run_dir
    blend = tmp_path / "saved.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)
    leaks = [
        str(p)
        for p in [blend, *run_dir.rglob("*")]
        if p.is_file() and SECRET.encode() in p.read_bytes()
    ]
    assert leaks == []
    assert props.run_dir == str(run_dir)
