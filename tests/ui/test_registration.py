"""register() / unregister() of viga_addon: everything registers, and nothing is left behind."""

from __future__ import annotations

import importlib

import pytest

import viga_addon

# Data-block types an add-on would most likely hang properties on.
_RNA_OWNERS = ("Scene", "WindowManager", "Object", "World", "Material", "Light", "Camera", "Image")


def _ui_classes() -> list[type]:
    classes = []
    for name in viga_addon._UI_MODULES:
        module = importlib.import_module(f"viga_addon.{name}")
        classes += list(getattr(module, "CLASSES", ()))
    return classes


def _blender_state() -> dict:
    """What registration can change: type names, RNA properties, operators, handlers."""
    import bpy

    operators = set()
    for category in dir(bpy.ops):
        if not category.startswith("_"):
            operators |= {f"{category}.{op}" for op in dir(getattr(bpy.ops, category))}
    handlers = {
        name: len(value)
        for name in dir(bpy.app.handlers)
        if isinstance(value := getattr(bpy.app.handlers, name), list)
    }
    return {
        "types": set(dir(bpy.types)),
        "rna": {
            owner: {p.identifier for p in getattr(bpy.types, owner).bl_rna.properties}
            for owner in _RNA_OWNERS
        },
        "operators": operators,
        "handlers": handlers,
    }


def _added(before: dict, after: dict) -> dict:
    return {
        "types": after["types"] - before["types"],
        "rna": {k: after["rna"][k] - before["rna"][k] for k in _RNA_OWNERS},
        "operators": after["operators"] - before["operators"],
        "handlers": {
            k: after["handlers"][k] - before["handlers"].get(k, 0) for k in after["handlers"]
        },
    }


@pytest.fixture
def unregistered_afterwards(clean_scene):
    """Best-effort unregister if a test fails half-way, so later tests start clean."""
    yield
    for cls in reversed(_ui_classes()):
        if getattr(cls, "is_registered", False):
            import bpy

            bpy.utils.unregister_class(cls)


@pytest.mark.smoke
def test_every_class_registers_and_unregisters(unregistered_afterwards):
    classes = _ui_classes()
    assert classes, "no CLASSES found in the UI modules"
    assert not [c.__name__ for c in classes if c.is_registered]

    viga_addon.register()
    try:
        assert [c.__name__ for c in classes if not c.is_registered] == []
    finally:
        viga_addon.unregister()
    assert [c.__name__ for c in classes if c.is_registered] == []


@pytest.mark.smoke
def test_register_twice_leaves_nothing_behind(unregistered_afterwards):
    import bpy

    baseline = _blender_state()
    added_per_cycle = []
    for _ in range(2):
        viga_addon.register()
        added_per_cycle.append(_added(baseline, _blender_state()))
        viga_addon.unregister()
        assert _blender_state() == baseline, "unregister() left something behind"

    # Each cycle adds exactly the same things, and it is visibly the add-on's.
    assert added_per_cycle[0] == added_per_cycle[1]
    added = added_per_cycle[0]
    assert any(op.startswith("viga.") for op in added["operators"])
    assert any(name.startswith("VIGA_PT_") for name in added["types"])
    assert not any(name.startswith("VIGA_") for name in dir(bpy.types))
