"""What the add-on registers when it cannot start: a sidebar panel (3D Viewport › VIGA) and a
note at enable time that say which module is missing and the one command that installs it.

A distribution's Blender runs the system Python, which may lack numpy (agent/dependencies.py).
This module imports nothing that needs it.
"""

from __future__ import annotations

import textwrap

import bpy

from ..agent import dependencies

_LACKING: list[dependencies.Missing] = []


def set_lacking(lacking: list[dependencies.Missing]) -> None:
    _LACKING[:] = lacking


def lacking() -> list[dependencies.Missing]:
    return list(_LACKING)


def _commands() -> str:
    return "\n".join(dependencies.install_hint(m.module) for m in _LACKING)


def draw_needs(layout, width_chars: int = 34) -> None:
    """The missing modules, the command that installs them, a button that copies it."""
    box = layout.box()
    box.alert = True
    box.label(text="VIGA cannot start", icon="ERROR")
    box.label(text="Missing: " + ", ".join(m.module for m in _LACKING))
    col = layout.column(align=True)
    col.label(text="Install it with:")
    for command in _commands().splitlines():
        for line in textwrap.wrap(command, width_chars, break_on_hyphens=False):
            col.label(text=line)
    layout.operator("viga.copy_install_command", icon="COPYDOWN")
    layout.label(text="Then restart Blender.")


class VIGA_PT_needs(bpy.types.Panel):
    bl_idname = "VIGA_PT_needs"
    bl_label = "VIGA — photo to scene"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "VIGA"

    def draw(self, context):
        draw_needs(self.layout)


class VIGA_OT_copy_install_command(bpy.types.Operator):
    """Copy the command that installs what VIGA needs (paste it into a terminal)"""

    bl_idname = "viga.copy_install_command"
    bl_label = "Copy Install Command"

    def execute(self, context):
        context.window_manager.clipboard = _commands()
        self.report({"INFO"}, f"Copied: {_commands()}")
        return {"FINISHED"}


def _tell_once():
    """At enable time, with a window: the same words in a popup."""
    wm = bpy.context.window_manager
    if not _LACKING or not wm.windows:
        return None

    def draw(menu, _context):
        draw_needs(menu.layout, width_chars=60)

    window = wm.windows[0]
    with bpy.context.temp_override(window=window, screen=window.screen):
        wm.popup_menu(draw, title="VIGA", icon="ERROR")
    return None


def register_extra():
    print(dependencies.missing_message(_LACKING), flush=True)
    if not bpy.app.background:
        bpy.app.timers.register(_tell_once, first_interval=0.5)


CLASSES = (VIGA_PT_needs, VIGA_OT_copy_install_command)
