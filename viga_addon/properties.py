"""Scene-level inputs of a run (``scene.viga``). No secrets here: scene data is saved in the .blend.

The run folder's path is kept so that a .blend saved mid-run can offer to resume it when it is
opened again. The live Session itself lives in ``ui_runtime`` (Python objects cannot be stored in
bpy properties).
"""

import bpy

PROVIDER_ITEMS = (
    ("DEFAULT", "Preferences default", "The provider chosen in the add-on preferences"),
    ("anthropic", "Anthropic (Claude)", "Claude through the anthropic SDK"),
    ("openai", "OpenAI / compatible", "GPT, or the OpenAI-compatible server of the preferences"),
    ("scripted", "Scripted demo (offline)", "Plays back recorded replies: no model is called"),
)


class VIGA_SceneProperties(bpy.types.PropertyGroup):
    photo_source: bpy.props.EnumProperty(
        name="Reference",
        items=(
            ("FILE", "File", "A photo file on disk"),
            ("IMAGE", "Image", "An image already in this .blend"),
        ),
        default="FILE",
    )
    photo_path: bpy.props.StringProperty(
        name="Photo", subtype="FILE_PATH", description="The reference photo (PNG, JPEG, …)"
    )
    photo_image: bpy.props.PointerProperty(
        name="Image", type=bpy.types.Image, description="An image in this file as the reference"
    )
    provider: bpy.props.EnumProperty(name="Provider", items=PROVIDER_ITEMS, default="DEFAULT")
    model: bpy.props.StringProperty(
        name="Model", description="Model id (empty: the preferences' default)"
    )
    run_dir: bpy.props.StringProperty(
        name="Run folder",
        subtype="DIR_PATH",
        description="Folder of this scene's last run (resumable if it did not finish)",
    )
    show_checklist: bpy.props.BoolProperty(name="Checklist", default=True)
    # the Refine panel (operators/refine.py)
    refine_lighting: bpy.props.BoolProperty(
        name="Lighting", default=True, description="Light energies, colours, directions; world"
    )
    refine_material: bpy.props.BoolProperty(
        name="Material", default=False, description="Base colour, roughness, metallic"
    )
    refine_placement: bpy.props.BoolProperty(
        name="Placement", default=False, description="Object location, rotation, scale"
    )
    refine_camera: bpy.props.BoolProperty(
        name="Camera", default=False, description="Camera location, rotation, focal length"
    )
    refine_selected_only: bpy.props.BoolProperty(
        name="Selected objects only",
        default=False,
        description="Refine only the selected objects (and selected lights)",
    )
    refine_budget: bpy.props.IntProperty(
        name="Renders",
        default=60,
        min=1,
        max=1000,
        description="How many small renders the refiner may spend (30-60 is a good range)",
    )


CLASSES = (VIGA_SceneProperties,)


def register_extra():
    bpy.types.Scene.viga = bpy.props.PointerProperty(type=VIGA_SceneProperties)


def unregister_extra():
    if hasattr(bpy.types.Scene, "viga"):
        del bpy.types.Scene.viga
