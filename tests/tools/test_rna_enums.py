"""An enum whose value this Blender build has no item for is read without Blender's warning.

A Debian Blender without OpenImageDenoise holds ``cycles.denoiser`` = 4 with no item for it: every
read printed ``WARN (bpy.rna) … matches no enum`` (about 140 lines per demo run). The same state
is made here with a dynamic enum whose items leave out the stored value."""

from __future__ import annotations

import bpy
import pytest

from viga_addon.tools.scene import fingerprint, rna

ITEMS = [("A", "A", "", 0), ("B", "B", "", 1), ("GONE", "Gone", "", 4)]
ON_THIS_BUILD = [("A", "A", "", 0), ("B", "B", "", 1)]  # item 4 is missing, as OIDN is
_state = {"items": ITEMS}


def _items(self, context):
    return _state["items"]


class VigaTestEnumSettings(bpy.types.PropertyGroup):
    mode: bpy.props.EnumProperty(items=_items)
    size: bpy.props.IntProperty(default=3)


@pytest.fixture
def settings(clean_scene):
    bpy.utils.register_class(VigaTestEnumSettings)
    bpy.types.Scene.viga_test_enum = bpy.props.PointerProperty(type=VigaTestEnumSettings)
    _state["items"] = ITEMS
    clean_scene.viga_test_enum.mode = "GONE"
    _state["items"] = ON_THIS_BUILD
    rna._PLANS.clear()
    yield clean_scene.viga_test_enum
    del bpy.types.Scene.viga_test_enum
    bpy.utils.unregister_class(VigaTestEnumSettings)
    _state["items"] = ITEMS
    rna._PLANS.clear()


def test_an_enum_without_its_item_is_left_out_without_a_warning(settings, capfd):
    capfd.readouterr()
    values = rna.props(settings)
    for _ in range(3):  # the walker runs on every change report
        rna.to_dict(settings)
        fingerprint.capture()
    out = capfd.readouterr()
    assert "matches no enum" not in out.out + out.err
    assert "mode" not in values and values["size"] == 3


def test_the_same_enum_with_its_item_is_read(settings):
    _state["items"] = ITEMS
    values = rna.props(settings)
    assert values["mode"] == "GONE" and values["size"] == 3


def test_a_probe_does_not_swallow_other_output(settings, capfd):
    import os

    capfd.readouterr()
    with rna._output_captured() as output:
        os.write(2, b"something else\n")
        os.write(1, b"and this\n")
    assert output == {1: b"and this\n", 2: b"something else\n"}
