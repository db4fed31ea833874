"""The panel's small helpers: an "i" button whose tooltip (and popup, when pressed) holds the
long explanation a label has no room for, and the one-click fixes of the checklist before a run
(pick a photo, open the add-on's preferences, open Blender's System preferences)."""

from __future__ import annotations

import textwrap

import bpy


class VIGA_OT_explain(bpy.types.Operator):
    """More about this"""

    bl_idname = "viga.explain"
    bl_label = "More"
    bl_options = {"INTERNAL"}

    text: bpy.props.StringProperty(options={"SKIP_SAVE", "HIDDEN"})

    @classmethod
    def description(cls, _context, properties):
        return properties.text or cls.__doc__

    def execute(self, context):
        if bpy.app.background:
            self.report({"INFO"}, self.text)
            return {"FINISHED"}
        lines = [line for part in self.text.split("\n") for line in textwrap.wrap(part, 60)]

        def draw(menu, _context):
            for line in lines:
                menu.layout.label(text=line)

        context.window_manager.popup_menu(draw, title="VIGA", icon="INFO")
        return {"FINISHED"}


class VIGA_OT_pick_photo(bpy.types.Operator):
    """Choose the reference photo (PNG, JPEG, …) in a file browser"""

    bl_idname = "viga.pick_photo"
    bl_label = "Pick a Photo"

    filepath: bpy.props.StringProperty(subtype="FILE_PATH", options={"SKIP_SAVE"})
    filter_image: bpy.props.BoolProperty(default=True, options={"HIDDEN", "SKIP_SAVE"})
    filter_folder: bpy.props.BoolProperty(default=True, options={"HIDDEN", "SKIP_SAVE"})

    def invoke(self, context, _event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        props = context.scene.viga
        props.photo_source = "FILE"
        props.photo_path = self.filepath
        return {"FINISHED"}


class VIGA_OT_open_addon_prefs(bpy.types.Operator):
    """Open the add-on's preferences, where the API keys are kept (in Blender's user
    preferences, never in .blend files)"""

    bl_idname = "viga.open_addon_prefs"
    bl_label = "Set a Key"

    def execute(self, context):
        from ..preferences import ADDON_ID

        try:
            bpy.ops.preferences.addon_show(module=ADDON_ID)
        except (RuntimeError, AttributeError) as e:
            self.report({"ERROR"}, f"Could not open the preferences: {e}")
            return {"CANCELLED"}
        return {"FINISHED"}


class VIGA_OT_open_system_prefs(bpy.types.Operator):
    """Open Blender's System preferences: turn on Allow Online Access there (or start Blender
    with --online-mode)"""

    bl_idname = "viga.open_system_prefs"
    bl_label = "Allow Online"

    def execute(self, context):
        context.preferences.active_section = "SYSTEM"
        try:
            bpy.ops.screen.userpref_show("INVOKE_DEFAULT")
        except RuntimeError as e:
            self.report({"ERROR"}, f"Could not open the preferences: {e}")
            return {"CANCELLED"}
        return {"FINISHED"}


CLASSES = (VIGA_OT_explain, VIGA_OT_pick_photo, VIGA_OT_open_addon_prefs, VIGA_OT_open_system_prefs)
