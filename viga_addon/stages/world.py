"""The model's world in words: the Blender version, units and axes, the code policy, what each
scope covers, and the Blender 4.x/5.x API renames that bite — the text of the system prompts.

Pure data and text (the standard library only: no bpy, nothing from agent/ or tools/). The lists
here restate tools/code/policy's and tools/scene/scope's real ones; tests/agent/test_prompts.py compares them,
and checks the renames against the running Blender, so the prompt cannot drift from what the
harness enforces.
"""

from __future__ import annotations

import re

# ---------------------------------------------------------------------------- the policy, as data
# Top-level modules model code may import (tools/code/policy/rules.ALLOWED_MODULES, by root).
ALLOWED_IMPORTS = (
    "bpy",
    "bmesh",
    "mathutils",
    "math",
    "cmath",
    "random",
    "colorsys",
    "itertools",
    "functools",
    "collections",
    "statistics",
    "numpy",
)
# bpy.ops families model code may call (rules.ALLOWED_OP_CATEGORIES), most useful first.
OPERATOR_FAMILIES = (
    "mesh",
    "object",
    "material",
    "node",
    "transform",
    "uv",
    "curve",
    "curves",
    "collection",
    "world",
    "camera",
    "constraint",
    "geometry",
    "texture",
    "surface",
    "lattice",
    "mball",
    "armature",
    "pose",
    "anim",
    "action",
    "graph",
    "particle",
    "rigidbody",
    "pointcloud",
    "grease_pencil",
    "gpencil",
    "sculpt",
    "paint",
    "view3d",
)
# Single operators allowed outside those families (rules.EXTRA_ALLOWED_OPS).
EXTRA_OPERATORS = ("image.new", "font.text_insert")
# Builtins refused by name (a subset of rules.REFUSED_BUILTINS, the ones models reach for).
REFUSED_BUILTINS = ("open", "exec", "eval", "compile", "__import__", "globals", "vars", "input")
# bpy's top-level names model code may use (the rest is refused: utils, props, path, msgbus).
BPY_NAMES = ("data", "context", "ops", "types", "app")
TIME_LIMIT_S = 10  # seconds per execute_code call (tools/code/policy/limits.DEFAULT_TIMEOUT)

# ---------------------------------------------------------------------------- scopes
# What each scope (base.SCOPES) covers, as tools/scene/scope.py decides it.
SCOPE_COVERS = {
    "objects": "creating, removing, renaming, parenting, hiding objects and their collections "
    "(not lights or cameras: those are the lights and camera scopes)",
    "meshes": "mesh, curve and text data: vertices, edges, faces, points",
    "modifiers": "modifier stacks and their settings, geometry node groups",
    "materials": "materials and their node trees, images and textures, material slots and "
    "per-face material indices",
    "transforms": "location, rotation, scale of objects other than lights and cameras",
    "camera": "the scene camera, camera objects (creating, moving, aiming) and lens settings",
    "lights": "light objects (creating, moving, aiming, hiding) and light data (energy, colour, "
    "size)",
    "world": "the world: background colour and strength",
    "render": "render settings, exposure and colour management",
    "physics": "the rigid-body world and its settings, rigid bodies (type, shape, mass, "
    "friction, kinematic), rigid-body constraints and force fields",
    "animation": "animation data and keyframes (keyframe_insert), the frame range",
    "new_objects": "objects, meshes, materials and modifiers this call creates (a thrown "
    "ball); the objects already there keep their geometry and materials",
}

# ---------------------------------------------------------------------------- renames
# Principled BSDF inputs renamed in Blender 4.0: the 3.x name -> the current name.
PRINCIPLED_RENAMES = {
    "Specular": "Specular IOR Level",
    "Subsurface": "Subsurface Weight",
    "Transmission": "Transmission Weight",
    "Clearcoat": "Coat Weight",
    "Clearcoat Roughness": "Coat Roughness",
    "Sheen": "Sheen Weight",
    "Emission": "Emission Color",
}
# Principled BSDF inputs that kept their names.
PRINCIPLED_KEPT = ("Base Color", "Metallic", "Roughness", "IOR", "Alpha", "Normal")

UNITS_AXES = (
    "Units and axes: metres; Z is up (keep the ground on the XY plane, z = 0); bpy angles are "
    "radians (math.radians(deg)). A camera looks down its local -Z with its local +Y up in the "
    "image; sun, spot and area lights shine down their local -Z. Colours are linear RGB 0-1 "
    "(sRGB 0.5 is about 0.21 linear); a colour socket's default_value takes RGBA, light.color RGB."
)


def parse_version(version: str | None) -> tuple[int, int, int] | None:
    """(major, minor, patch) of "5.2.3" or "5.2.3 LTS", or None when it names no version."""
    match = re.match(r"\s*(\d+)\.(\d+)(?:\.(\d+))?", version or "")
    if not match:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def eevee_engine_id(version: tuple[int, int, int]) -> str:
    """EEVEE's render engine id in that Blender: 4.2-4.4 call it BLENDER_EEVEE_NEXT."""
    return "BLENDER_EEVEE" if version >= (5, 0, 0) else "BLENDER_EEVEE_NEXT"


def blender_line(version: str | None, role: str = "generator") -> str:
    """The first line of the world section: which Blender runs the scene (and its code)."""
    parsed = parse_version(version)
    name = f"Blender {'.'.join(map(str, parsed))}" if parsed else "Blender 4.2 LTS or newer"
    if role != "generator":
        return f"{name} renders the scene."
    if parsed is None:
        return (
            f"{name} (the exact version was not given) runs your code: write for the 4.x/5.x "
            "API; code written for Blender 2.x/3.x often fails (renames below)."
        )
    return (
        f"{name} runs your code: write for its API (Blender {parsed[0]}.x); code written for "
        "Blender 2.x/3.x often fails (renames below)."
    )


def policy_text() -> str:
    """The code policy in a few lines (what execute_code refuses, and the time limit)."""
    bpy_names = ", ".join(f"bpy.{name}" for name in BPY_NAMES if name != "app")
    lines = (
        "Code policy (checked before anything runs; a refusal says what and why):",
        f"- Import only {', '.join(ALLOWED_IMPORTS)} (and their usual submodules).",
        f"- No files, network, processes or sleeping: {', '.join(REFUSED_BUILTINS)} are "
        'refused, and so are names starting with "_" and str.format / format_map (use '
        "f-strings).",
        f"- {bpy_names} and bpy.app.version* only: no bpy.utils, bpy.props, bpy.path; "
        "preferences, add-ons and window managers are off limits.",
        f"- bpy.ops: only the families {', '.join(OPERATOR_FAMILIES)} (and "
        f"{', '.join(EXTRA_OPERATORS)}); none that opens, saves, imports, exports or bakes; never "
        "wm, render, screen, file or preferences operators.",
        "- To start over, call clear_scene() (already in your namespace; it removes objects, so "
        "only where the objects scope is allowed): resetting the file (bpy.ops.wm."
        "read_factory_settings, read_homefile) is refused. One object: "
        "bpy.data.objects.remove(obj, do_unlink=True).",
        f"- {TIME_LIMIT_S} s per execute_code call. A call that raises, is refused or runs out "
        "of time is undone whole: the scene is as it was before it.",
    )
    return "\n".join(lines)


def scope_text(scope: tuple[str, ...], role: str, example: str = "") -> str:
    """What this stage's scopes cover and what gets rolled back (generator), or what the
    generator may change here and so what to ask for (verifier)."""
    covers = "\n".join(f"- {name}: {SCOPE_COVERS[name]}" for name in scope)
    barred = [name for name in SCOPE_COVERS if name not in scope]
    if role != "generator":
        text = f"In this stage the generator may change:\n{covers}"
        if barred:
            text += f"\nIt may not change {', '.join(barred)}: ask only for fixes within its scope."
        return text
    if not barred:
        rollback = "Every scope is open in this stage: nothing is rolled back for its scope."
    else:
        rollback = (
            "execute_code compares the scene before and after each call: if a call changed "
            f"anything outside these ({', '.join(barred)} are not this stage's), the WHOLE call "
            "is rolled back and the result names the out-of-scope changes."
        )
        if example:
            rollback += f" {example}"
    return f"What this stage's scopes cover:\n{covers}\n{rollback}"


def renames_text(version: str | None) -> str:
    """The Blender 4.x/5.x API changes that code from older Blender trips over."""
    parsed = parse_version(version)
    renamed = ", ".join(f'"{old}" -> "{new}"' for old, new in PRINCIPLED_RENAMES.items())
    if parsed is None:
        eevee = '"BLENDER_EEVEE" in 5.x, "BLENDER_EEVEE_NEXT" in 4.2-4.4'
        nodes = (
            "in 4.x a new material or world has no node tree until use_nodes = True; in 5.x it "
            "always has one and use_nodes is deprecated"
        )
    elif parsed >= (5, 0, 0):
        eevee = '"BLENDER_EEVEE" ("BLENDER_EEVEE_NEXT" was 4.2-4.4\'s)'
        nodes = "new materials and worlds already have a node tree; use_nodes is deprecated"
    else:
        eevee = '"BLENDER_EEVEE_NEXT" ("BLENDER_EEVEE" in 5.x)'
        nodes = "a new material or world has no node tree until you set use_nodes = True"
    lines = (
        "API changes that bite (Blender 4.x/5.x):",
        f"- Principled BSDF inputs renamed in 4.0: {renamed}; {', '.join(PRINCIPLED_KEPT)} "
        "kept their names.",
        f"- Nodes: {nodes}. Portable: `if mat.node_tree is None: mat.use_nodes = True`.",
        f"- EEVEE's engine id is {eevee}; scene.eevee.use_ssr / use_gtao / use_bloom do "
        "nothing since 4.2 and are gone in 5.x. Renders set their own engine: leave "
        "scene.render.engine alone.",
        "- Mesh.use_auto_smooth is gone (4.1): use bpy.ops.object.shade_smooth_by_angle().",
        "- The Musgrave texture node is gone (4.1): use ShaderNodeTexNoise.",
        "- The compositor is scene.compositing_node_group in 5.x (scene.node_tree is gone): "
        "leave it alone.",
    )
    return "\n".join(lines)


def generator_world(version: str | None) -> str:
    """The generator's world section: version, units and axes, policy, renames."""
    return "\n".join(
        ("Your world:", blender_line(version), UNITS_AXES, policy_text(), renames_text(version))
    )


def verifier_world(version: str | None) -> str:
    """The verifier's world section: version, units and axes, what its viewing tools do."""
    return "\n".join(
        (
            "Your world:",
            blender_line(version, "verifier"),
            UNITS_AXES,
            "Your viewing tools (initialize_viewpoint, set_camera, investigate, set_visibility) "
            "never change the scene; each view comes back with its camera pose (location in "
            "metres, rotation in XYZ degrees, lens in mm).",
        )
    )
