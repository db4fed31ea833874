"""VIGA: turn one photo into an editable Blender scene with a vision-language model.

This file only collects the ``CLASSES`` tuple of each UI module and registers them. The modules
are imported inside ``register`` so that ``viga_addon.agent`` (pure Python) can be imported by a
plain interpreter, e.g. the model worker process, without ``bpy``.
"""

import importlib

_UI_MODULES = ("preferences", "properties", "operators", "panels")


def _classes():
    for name in _UI_MODULES:
        module = importlib.import_module(f".{name}", __name__)
        yield from getattr(module, "CLASSES", ())


def _modules():
    return [importlib.import_module(f".{name}", __name__) for name in _UI_MODULES]


def register():
    import bpy

    for cls in _classes():
        bpy.utils.register_class(cls)
    for module in _modules():
        if hasattr(module, "register_extra"):
            module.register_extra()


def unregister():
    import bpy

    for module in reversed(_modules()):
        if hasattr(module, "unregister_extra"):
            module.unregister_extra()
    for cls in reversed(list(_classes())):
        bpy.utils.unregister_class(cls)
