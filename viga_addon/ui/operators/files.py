"""Open this run's folder, show the latest render beside the photo, use the demo photo.

``viga.open_run_folder`` opens one run's folder; the folder that holds all runs is opened by
``viga.open_runs_root`` (runs_root.py).
"""

from __future__ import annotations

from pathlib import Path

import bpy

from .. import live as rt


def _run_dir(context) -> str | None:
    live = rt.live_run(context.scene)
    if live is not None:
        return str(live.session.run_dir)
    saved = context.scene.viga.run_dir
    return bpy.path.abspath(saved) if saved else None


class VIGA_OT_open_run_folder(bpy.types.Operator):
    """Open this run's folder (code, renders, verdicts, snapshots, final scene)"""

    bl_idname = "viga.open_run_folder"
    bl_label = "Open Run Folder"

    def execute(self, context):
        path = _run_dir(context)
        if not path or not Path(path).is_dir():
            self.report({"ERROR"}, f"No run folder here ({path or 'no run yet'}).")
            return {"CANCELLED"}
        if bpy.app.background:
            self.report({"INFO"}, f"VIGA: run folder {path}")
            return {"FINISHED"}
        bpy.ops.wm.path_open(filepath=path)
        return {"FINISHED"}


class VIGA_OT_show_render(bpy.types.Operator):
    """Open the photo and the latest render side by side at full size in an Image Editor (a new
    window when this screen has none)"""

    bl_idname = "viga.show_render"
    bl_label = "Show Render"

    def execute(self, context):
        live = rt.live_run(context.scene)
        if live is None:
            self.report({"ERROR"}, "No run in this scene.")
            return {"CANCELLED"}
        path = live.session.progress().latest_render
        if path is None:
            self.report({"WARNING"}, "No render yet.")
            return {"CANCELLED"}
        image = rt.side_by_side_image(str(live.session.store.reference), str(path))
        shown = rt.show_in_editor(context, "IMAGE_EDITOR", "image", image)
        if not shown and not bpy.app.background:
            shown = _in_new_window(context, image)
        if not shown:
            self.report(
                {"INFO"},
                f"VIGA: photo and render are in the image {image.name!r} "
                "(open an Image Editor to see it)",
            )
        return {"FINISHED"}


def _in_new_window(context, image) -> bool:
    """Blender's render view (a new window with an Image Editor, as F11 opens) showing
    ``image``."""
    try:
        bpy.ops.render.view_show("INVOKE_DEFAULT")
    except RuntimeError:
        return False
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            if area.type == "IMAGE_EDITOR":
                area.spaces.active.image = image
                area.tag_redraw()
                return True
    return False


class VIGA_OT_use_demo_photo(bpy.types.Operator):
    """Use the bundled example photo with the offline scripted demo (no model is called)"""

    bl_idname = "viga.use_demo_photo"
    bl_label = "Try the Offline Demo"

    def execute(self, context):
        from ...demo import tabletop

        props = context.scene.viga
        props.photo_source = "FILE"
        props.photo_path = str(tabletop.PHOTO)
        props.provider = "scripted"
        return {"FINISHED"}


CLASSES = (VIGA_OT_open_run_folder, VIGA_OT_show_render, VIGA_OT_use_demo_photo)
