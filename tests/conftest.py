import pytest


@pytest.fixture
def clean_scene():
    """An empty factory scene before each test that asks for it (real bpy)."""
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    yield bpy.context.scene
    bpy.ops.wm.read_factory_settings(use_empty=True)
