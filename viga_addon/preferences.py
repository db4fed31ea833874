"""Add-on preferences: API keys live here (or in environment variables), never in scene data."""

from pathlib import Path

import bpy

ADDON_ID = __package__


def prefs(context=None):
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON_ID)
    return addon.preferences if addon else None


def runs_root(context=None) -> Path:
    p = prefs(context)
    if p and p.runs_dir:
        return Path(bpy.path.abspath(p.runs_dir))
    return Path(bpy.utils.user_resource("DATAFILES", path="viga_runs"))


class VIGA_AddonPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_ID

    anthropic_api_key: bpy.props.StringProperty(
        name="Anthropic API key",
        description="Stored in Blender's user preferences, not in .blend files. "
        "Empty: the ANTHROPIC_API_KEY environment variable is used",
        subtype="PASSWORD",
    )
    openai_api_key: bpy.props.StringProperty(
        name="OpenAI API key",
        description="Stored in Blender's user preferences, not in .blend files. "
        "Empty: the OPENAI_API_KEY environment variable is used",
        subtype="PASSWORD",
    )
    runs_dir: bpy.props.StringProperty(
        name="Runs folder",
        description="Where runs are written (empty: Blender's user data folder / viga_runs)",
        subtype="DIR_PATH",
    )

    def draw(self, context):
        layout = self.layout
        layout.label(text="Keys are kept in Blender's preferences file, never in .blend files,")
        layout.label(text="run folders or logs. Leave empty to use the environment variables.")
        layout.prop(self, "anthropic_api_key")
        layout.prop(self, "openai_api_key")
        layout.prop(self, "runs_dir")


CLASSES = (VIGA_AddonPreferences,)
