"""Add-on preferences: API keys live here (or in environment variables), never in scene data.

Blender keeps add-on preferences in its user preferences file (userpref.blend), not in .blend
files; the keys are sent only to the worker process (on its stdin), never written to run folders
or logs.
"""

from pathlib import Path

import bpy

from ..agent.providers import DEFAULT_MODELS, KEY_ENV_VARS
from ..agent.settings import DEFAULT_BUDGETS, DEFAULTS, LIMITS, MIN_THINKING

ADDON_ID = __package__.rpartition(".")[0]  # the add-on's root package (this module is in ui/)

PROVIDERS = (
    ("anthropic", "Anthropic (Claude)", "Claude through the anthropic SDK"),
    ("openai", "OpenAI / compatible", "GPT, or a local OpenAI-compatible server (base URL)"),
    ("scripted", "Scripted demo (offline)", "Plays back recorded replies: no model is called"),
)


def prefs(context=None):
    """The add-on's preferences, or None when the add-on is not enabled as an add-on."""
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON_ID)
    return addon.preferences if addon else None


def runs_root(context=None) -> Path:
    p = prefs(context)
    if p and p.runs_dir:
        return Path(bpy.path.abspath(p.runs_dir))
    return Path(bpy.utils.user_resource("DATAFILES", path="viga_runs"))


def _number(setting, name, description="", subtype="NONE"):
    """An integer preference for a numeric setting: its default and bounds from Settings."""
    low, high = LIMITS[setting]
    return bpy.props.IntProperty(
        name=name,
        default=getattr(DEFAULTS, setting),
        min=low,
        max=high,
        subtype=subtype,
        description=description,
    )


def _budget(stage, what="rounds"):
    low, high = LIMITS["budget"]
    return bpy.props.IntProperty(
        name=stage.capitalize(),
        default=DEFAULT_BUDGETS[stage],
        min=low,
        max=high,
        description=f"{what.capitalize()} of the {stage} stage",
    )


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
    default_provider: bpy.props.EnumProperty(name="Provider", items=PROVIDERS, default="anthropic")
    default_model: bpy.props.StringProperty(
        name="Model",
        description="Model id; empty: the provider's default "
        f"({DEFAULT_MODELS['anthropic']}, {DEFAULT_MODELS['openai']})",
    )
    base_url: bpy.props.StringProperty(
        name="Base URL",
        description="OpenAI-compatible server for the OpenAI provider, e.g. "
        "http://localhost:11434/v1 (Ollama). Empty: api.openai.com",
    )
    max_tokens: _number(
        "max_tokens",
        "Max output tokens",
        "Output tokens of one model reply, thinking and reasoning included. A reply cut at the "
        "limit is asked again once with twice as many",
    )
    thinking: _number(
        "thinking",
        "Thinking budget",
        f"Claude: extended thinking with this budget in tokens (at least {MIN_THINKING}, inside "
        "Max output tokens); 0: off",
    )
    reasoning_effort: bpy.props.EnumProperty(
        name="Reasoning effort",
        description="GPT-5 and o-series models: how hard they reason before answering "
        "(other models do not get it)",
        items=(
            ("DEFAULT", "Model default", "Send none: the model's own default"),
            ("LOW", "Low", ""),
            ("MEDIUM", "Medium", ""),
            ("HIGH", "High", ""),
        ),
        default="DEFAULT",
    )
    tool_choice: bpy.props.EnumProperty(
        name="Tool choice",
        description="How the model is asked to call tools",
        items=(
            ("AUTO", "Auto", "The model may write its reasoning, then calls a tool"),
            (
                "REQUIRED",
                "Required",
                "The model must call a tool (for servers whose models only call tools when forced)",
            ),
        ),
        default=DEFAULTS.tool_choice.upper(),
    )
    tool_protocol: bpy.props.EnumProperty(
        name="Tool protocol",
        description="How tools reach the model",
        items=(
            ("AUTO", "Auto", "Native tool calls; text when the server's preflight finds none"),
            ("NATIVE", "Native", "The API's own tool calls"),
            (
                "TEXT",
                "Text",
                'One fenced json block {"tool", "arguments"} per reply, for servers whose '
                "models take no tools (many Ollama vision models)",
            ),
        ),
        default=DEFAULTS.tool_protocol.upper(),
    )
    max_cost: bpy.props.FloatProperty(
        name="Max cost (USD)",
        description="What a run may spend: it stops before a request that would pass this "
        "(resumable with a higher cap). 0: no cap",
        default=DEFAULTS.max_cost,
        min=0.0,
        soft_max=50.0,
        step=10,
        precision=2,
    )
    render_device: bpy.props.EnumProperty(
        name="Render device",
        items=(
            ("AUTO", "Auto", "A GPU when Cycles finds one, else the CPU"),
            ("CPU", "CPU", ""),
            ("GPU", "GPU", ""),
        ),
        default=DEFAULTS.render_device.upper(),
    )
    engine: bpy.props.EnumProperty(
        name="Engine",
        items=(("CYCLES", "Cycles", ""), ("EEVEE", "EEVEE", "Fast on a GPU, slow on software GL")),
        default=DEFAULTS.engine,
    )
    preview_size: _number(
        "preview_size", "Preview size", "Long side of the renders the model sees", "PIXEL"
    )
    preview_samples: _number("preview_samples", "Preview samples")
    final_size: _number("final_size", "Final size", subtype="PIXEL")
    final_samples: _number("final_samples", "Final samples")
    verify_size: _number(
        "verify_size",
        "Verifier size",
        "Long side of the attempt render the verifier judges",
        "PIXEL",
    )
    budget_init: _budget("init", "rollouts")
    budget_geometry: _budget("geometry")
    budget_material: _budget("material")
    budget_composition: _budget("composition")
    budget_lighting: _budget("lighting")
    budget_camera: _budget("camera")
    review_code: bpy.props.BoolProperty(
        name="Review code before it runs",
        description="Put the generator's code in a Text datablock and wait for Approve or Skip",
    )
    pause_after: bpy.props.EnumProperty(
        name="Pause after",
        items=(
            ("NONE", "Never", "Run through"),
            ("ROUND", "Every round", ""),
            ("STAGE", "Every stage", ""),
        ),
        default="NONE",
    )
    runs_dir: bpy.props.StringProperty(
        name="Runs folder",
        description="Where runs are written (empty: Blender's user data folder / viga_runs)",
        subtype="DIR_PATH",
    )
    demo_script: bpy.props.StringProperty(
        name="Demo script",
        description="JSON replies for the scripted demo provider (empty: the bundled demo)",
        subtype="FILE_PATH",
    )

    def draw(self, context):
        draw_preferences(self, self.layout, context)


def draw_preferences(p, layout, context) -> None:
    """The preferences page (a function so it can be drawn into a recording layout in tests)."""
    import os

    box = layout.box()
    box.label(text="API keys", icon="LOCKED")
    box.label(
        text="Keys are kept in Blender's user preferences (userpref.blend), never in "
        ".blend files, run folders or logs."
    )
    box.label(text="Leave a key empty to use its environment variable.")
    for provider, env in KEY_ENV_VARS.items():
        row = box.row()
        row.prop(p, f"{provider}_api_key")
        state = "set" if os.environ.get(env) else "not set"
        box.label(text=f"    {env}: {state}")
    col = layout.column()
    col.label(text="Model")
    col.prop(p, "default_provider")
    col.prop(p, "default_model")
    col.prop(p, "base_url")
    row = col.row()
    row.prop(p, "max_tokens")
    row.prop(p, "thinking")
    row = col.row()
    row.prop(p, "reasoning_effort")
    row.prop(p, "tool_choice")
    row = col.row()
    row.prop(p, "tool_protocol")
    row.prop(p, "max_cost")
    col.label(
        text="Online access: "
        + (
            "allowed"
            if getattr(bpy.app, "online_access", True)
            else "off — Preferences › System › Allow Online Access"
        )
    )
    col = layout.column()
    col.label(text="Rendering")
    row = col.row()
    row.prop(p, "render_device")
    row.prop(p, "engine")
    row = col.row()
    row.prop(p, "preview_size")
    row.prop(p, "preview_samples")
    row = col.row()
    row.prop(p, "final_size")
    row.prop(p, "final_samples")
    col.prop(p, "verify_size")
    col = layout.column()
    col.label(text="Rounds per stage")
    grid = col.grid_flow(columns=3)
    for name in ("init", "geometry", "material", "composition", "lighting", "camera"):
        grid.prop(p, f"budget_{name}")
    col = layout.column()
    col.label(text="Step-through")
    col.prop(p, "review_code")
    col.prop(p, "pause_after")
    col = layout.column()
    col.prop(p, "runs_dir")
    col.prop(p, "demo_script")


CLASSES = (VIGA_AddonPreferences,)
