from pathlib import Path

import pytest

GUI_LAYER = Path(__file__).resolve().parent / "gui"


def pytest_addoption(parser):
    parser.addoption(
        "--gui", action="store_true", help="run the real-Blender layer in tests/gui (./dev gui)"
    )


def pytest_ignore_collect(collection_path, config):
    """tests/gui is the real-Blender layer: only ``./dev gui`` (pytest --gui) collects it."""
    if Path(collection_path) == GUI_LAYER and not config.getoption("--gui"):
        return True
    return None


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

    from viga_addon.ui import live as rt

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
