import bpy


class VIGA_OT_open_runs_folder(bpy.types.Operator):
    """Open the folder where VIGA writes its runs"""

    bl_idname = "viga.open_runs_folder"
    bl_label = "Open Runs Folder"

    def execute(self, context):
        from ..preferences import runs_root

        root = runs_root(context)
        root.mkdir(parents=True, exist_ok=True)
        bpy.ops.wm.path_open(filepath=str(root))
        return {"FINISHED"}


CLASSES = (VIGA_OT_open_runs_folder,)
