"""``viga.open_runs_root``: open the runs folder, the one that holds every run's folder.

Not to be confused with ``viga.open_run_folder`` (operators/files.py), which opens the folder
of this scene's run.
"""

import bpy


class VIGA_OT_open_runs_root(bpy.types.Operator):
    """Open the folder where VIGA writes its runs"""

    bl_idname = "viga.open_runs_root"
    bl_label = "Open Runs Folder"

    def execute(self, context):
        from ..preferences import runs_root

        root = runs_root(context)
        root.mkdir(parents=True, exist_ok=True)
        bpy.ops.wm.path_open(filepath=str(root))
        return {"FINISHED"}


CLASSES = (VIGA_OT_open_runs_root,)
