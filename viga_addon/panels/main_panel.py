import bpy


class VIGA_PT_main(bpy.types.Panel):
    bl_idname = "VIGA_PT_main"
    bl_label = "VIGA"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "VIGA"

    def draw(self, context):
        layout = self.layout
        layout.label(text="Photo → editable scene")
        layout.operator("viga.open_runs_folder", icon="FILE_FOLDER")


CLASSES = (VIGA_PT_main,)
