"""Scene-level inputs of a run (``scene.viga``). No secrets here: scene data is saved in the .blend.

The run folder's path is kept so that a .blend saved mid-run can offer to resume it when it is
opened again. The live Session itself lives in ``ui.live`` (Python objects cannot be stored in
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
    note: bpy.props.StringProperty(
        name="Note",
        description='Your own words for the model, e.g. "the table is oak; leave the background '
        "out\": sent to every stage's generator and verifier, kept in run.json",
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
    # the stages a run runs (the Stages panel before a run; Match leaves init out)
    stage_init: bpy.props.BoolProperty(name="Init", default=True)
    stage_geometry: bpy.props.BoolProperty(name="Geometry", default=True)
    stage_material: bpy.props.BoolProperty(name="Material", default=True)
    stage_composition: bpy.props.BoolProperty(name="Composition", default=True)
    stage_lighting: bpy.props.BoolProperty(name="Lighting", default=True)
    stage_camera: bpy.props.BoolProperty(name="Camera", default=True)
    # Match this scene to the photo (operators/match.py)
    match_lock: bpy.props.EnumProperty(
        name="Edit",
        items=(
            ("NONE", "Whole scene", "Every object may change"),
            ("SELECTED", "Selected objects", "Only the selected objects may change"),
            ("COLLECTION", "One collection", "Only the objects of one collection may change"),
        ),
        default="NONE",
        description="What the run may change; everything else is locked",
    )
    match_collection: bpy.props.PointerProperty(
        name="Collection", type=bpy.types.Collection, description="The collection that may change"
    )
    match_allow_add_remove: bpy.props.BoolProperty(
        name="Allow adding and removing objects",
        default=False,
        description="Off: every object stays, under its own name",
    )
    # Make it Move (operators/interact.py): the interaction after a run
    interaction_prompt: bpy.props.StringProperty(
        name="Prompt",
        description='What should happen, e.g. "roll the red ball into the yellow can"',
    )
    interaction_frames: bpy.props.IntProperty(
        name="Frames",
        default=120,
        min=1,
        max=1000,
        description="Frames the simulation may run (the cap of every bake)",
    )


def chosen_stages(props, edit: bool = False) -> tuple[str, ...] | None:
    """The stages ticked in the Stages panel (None: all of a reconstruction); an edit run
    never runs init."""
    from ..agent.scene_edit import EDIT_STAGES
    from ..stages import STAGE_NAMES

    names = EDIT_STAGES if edit else STAGE_NAMES
    ticked = tuple(n for n in names if getattr(props, f"stage_{n}", True))
    return None if ticked == STAGE_NAMES else ticked


CLASSES = (VIGA_SceneProperties,)


def register_extra():
    bpy.types.Scene.viga = bpy.props.PointerProperty(type=VIGA_SceneProperties)


def unregister_extra():
    if hasattr(bpy.types.Scene, "viga"):
        del bpy.types.Scene.viga
