import pytest


@pytest.fixture
def clean_scene():
    """An empty factory scene before each test that asks for it (real bpy)."""
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    yield bpy.context.scene
    bpy.ops.wm.read_factory_settings(use_empty=True)


@pytest.fixture
def addon(tmp_path, monkeypatch):
    """The add-on enabled as Blender enables it (so its preferences exist), tiny renders,
    runs under tmp_path, no API keys in the environment; disabled and a factory scene after."""
    import bpy  # isort: skip  (addon_utils is importable once bpy is)
    import addon_utils  # isort: skip
    from ui_support import ADDON, TINY_PREFS

    from viga_addon import ui_runtime as rt

    for env in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(env, raising=False)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable(ADDON, default_set=True)
    p = bpy.context.preferences.addons[ADDON].preferences
    for key, value in TINY_PREFS.items():
        setattr(p, key, value)
    p.runs_dir = str(tmp_path / "runs")
    yield p
    rt.shutdown_live_run("test over")
    addon_utils.disable(ADDON, default_set=True)
    bpy.ops.wm.read_factory_settings(use_empty=True)
