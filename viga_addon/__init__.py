"""VIGA: turn one photo into an editable Blender scene with a vision-language model.

This file only collects the ``CLASSES`` tuple of each UI module and registers them. The modules
are imported inside ``register`` so that ``viga_addon.agent`` (pure Python) can be imported by a
plain interpreter, e.g. the model worker process, without ``bpy``. When the Python running
Blender lacks a module the add-on needs (numpy, on a distribution's Blender), only
``ui/needs_panel`` is registered: it says what to install.
"""

import importlib

_UI_MODULES = ("ui.preferences", "ui.properties", "ui.operators", "ui.panels")
_NEEDS_MODULES = ("ui.needs_panel",)
_registered: tuple[str, ...] = ()


def _ui_modules():
    from .agent import dependencies

    lacking = dependencies.missing()
    if lacking:
        from .ui import needs_panel

        needs_panel.set_lacking(lacking)
        return _NEEDS_MODULES
    return _UI_MODULES


def _modules(names):
    return [importlib.import_module(f".{name}", __name__) for name in names]


def register():
    import bpy

    global _registered
    _registered = _ui_modules()
    modules = _modules(_registered)
    for module in modules:
        for cls in getattr(module, "CLASSES", ()):
            bpy.utils.register_class(cls)
    for module in modules:
        if hasattr(module, "register_extra"):
            module.register_extra()


def unregister():
    import bpy

    modules = _modules(_registered)
    for module in reversed(modules):
        if hasattr(module, "unregister_extra"):
            module.unregister_extra()
    for module in reversed(modules):
        for cls in reversed(getattr(module, "CLASSES", ())):
            bpy.utils.unregister_class(cls)
