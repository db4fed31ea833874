"""The tool vocabulary offered to the model: name, description and JSON schema of each tool
(names kept compatible with VIGA runs). Which tools a stage offers is the stage's own field."""

from __future__ import annotations

from ...stages.base import INVESTIGATE_OPERATIONS
from ..messages import tool

_OBJECTS = {"type": "array", "items": {"type": "string"}}
_VEC3 = {"type": "array", "items": {"type": "number"}, "minItems": 3, "maxItems": 3}

SCHEMAS: dict[str, dict] = {
    "select_rollout": tool(
        "select_rollout",
        "Init only: pick the rollout whose scaffold is the best base for the later stages, "
        "having compared them all. analysis: what each rollout gets right and wrong; best: its "
        "round number; scores: a 0-10 score per rollout, keyed by round number; reason: one "
        "sentence on why best wins.",
        {
            "analysis": {"type": "string"},
            "best": {"type": "integer"},
            "scores": {"type": "object", "additionalProperties": {"type": "number"}},
            "reason": {"type": "string"},
        },
        ["analysis", "best", "scores", "reason"],
    ),
    "make_plan": tool(
        "make_plan",
        "Record your plan for this round before writing code. In the init stage, pass the scene "
        'graph: a JSON object {"objects": [{"name", "parent", "description", "geometry", '
        '"material", "relations"}, ...]} whose leaves are parts buildable from primitives.',
        {
            "plan": {"type": "string", "description": "Short numbered plan."},
            "scene_graph": {"type": "object", "description": "Init stage only."},
        },
        ["plan"],
    ),
    "execute_code": tool(
        "execute_code",
        "Run Blender Python (bpy) code in the live scene. bpy, bmesh, mathutils, math and random "
        "are imported. Returns stdout, errors with the failing line, and what changed. If the code "
        "raises, the scene is restored to how it was before the call.",
        {
            "intent": {
                "type": "string",
                "description": "Optional: one short sentence on what this code is for.",
            },
            "code": {"type": "string"},
        },
        ["code"],
    ),
    "get_scene_info": tool(
        "get_scene_info",
        "Summary of objects, materials, lights, camera, world and render settings.",
        {},
    ),
    "render_view": tool(
        "render_view",
        "Render a small preview of the scene and return the image with the camera pose used. "
        "By default through the photo's camera (the scene camera). To look from elsewhere give "
        "view (front: from -Y, side: from +X, top: from above) or azimuth/elevation in degrees "
        "(azimuth 0 from +X, 90 from +Y, -90 from -Y, the front; elevation 90 from above), and "
        "optionally distance in metres; these views look at the bounding box centre of "
        "'around' (default: the isolated objects, else the whole scene) and frame it. isolate: "
        "render only these objects (and their children); lights stay. Never changes the scene, "
        "its camera or visibility.",
        {
            "view": {"type": "string", "enum": ["camera", "front", "side", "top"]},
            "azimuth": {"type": "number", "description": "degrees around Z; 0 = from +X"},
            "elevation": {
                "type": "number",
                "minimum": -90,
                "maximum": 90,
                "description": "degrees above the horizontal",
            },
            "distance": {"type": "number", "description": "metres from the centre looked at"},
            "around": {**_OBJECTS, "description": "objects whose bounding box centre is looked at"},
            "isolate": {**_OBJECTS, "description": "render only these objects"},
        },
    ),
    "revert_last": tool(
        "revert_last",
        "Undo the effect of your last successful execute_code call in this round.",
        {},
    ),
    "end_round": tool(
        "end_round",
        "Finish this attempt: the scene is rendered and handed to the verifier.",
        {"summary": {"type": "string", "description": "What you changed and why."}},
        ["summary"],
    ),
    "refine_parameters": tool(
        "refine_parameters",
        "Fine-tune exact numbers by render-and-compare: renders small previews, compares them "
        "with the photo (SSIM + MSE) and keeps the best values found, never worse than now. Use "
        "once the structure is right. targets: groups this stage may edit (lighting, material, "
        "placement, camera) and/or names: light:NAME.energy|.color|.rotation|.location, "
        "world.color, world.strength, exposure, material:NAME.base_color|.roughness|.metallic, "
        "object:NAME.location|.rotation|.scale, camera.location|.rotation|.lens. objects: limit "
        "groups to these objects. budget: renders to spend (default 30; 0.1-0.4 s each).",
        {
            "targets": {"type": "array", "items": {"type": "string"}},
            "objects": _OBJECTS,
            "budget": {"type": "integer", "minimum": 1, "maximum": 200},
        },
        ["targets"],
    ),
    "bake_simulation": tool(
        "bake_simulation",
        "Interaction stage: bake the rigid-body simulation as the scene is set up now (in a "
        "separate process, from the start frame, never past the run's frame cap) and see a "
        "labelled contact sheet of its frames and every moving object's trajectory (start, end, "
        "peak speed, final rotation, tilt from upright). The scene is not changed. frames: "
        "optional, fewer frames than the cap for a quick look.",
        {"frames": {"type": "integer", "minimum": 1}},
    ),
    "initialize_viewpoint": tool(
        "initialize_viewpoint",
        "Render several views around the joint bounding box of the given objects.",
        {"object_names": _OBJECTS},
        ["object_names"],
    ),
    "set_camera": tool(
        "set_camera",
        "Look from a viewpoint of your choice (does not change the scene camera).",
        {
            "location": _VEC3,
            "look_at": _VEC3,
            "rotation": {**_VEC3, "description": "XYZ Euler degrees, instead of look_at"},
            "lens": {"type": "number"},
        },
        ["location"],
    ),
    "investigate": tool(
        "investigate",
        "Move the inspection view: orbit_left, orbit_right, orbit_up, orbit_down, zoom_in, "
        "zoom_out, focus (object_name), reset. Returns a render.",
        {
            "operation": {
                "type": "string",
                "enum": list(INVESTIGATE_OPERATIONS),
            },
            "object_name": {"type": "string"},
            "amount": {"type": "number"},
        },
        ["operation"],
    ),
    "set_visibility": tool(
        "set_visibility",
        "Show or hide objects in inspection renders only (the scene is not changed).",
        {"show": _OBJECTS, "hide": _OBJECTS},
    ),
    "submit_verdict": tool(
        "submit_verdict",
        "Your judgement of this attempt for this stage only. analysis first: your reasoning. "
        "approved=true moves on to the next stage. checklist: concrete, actionable fixes for the "
        "generator (empty when approved). best_attempt: the round number of the best attempt so "
        "far.",
        {
            "analysis": {
                "type": "string",
                "description": "Write this first. For each item of the previous checklist (if "
                "any): fixed or not, and what you see. Then what still differs from the photo "
                "in this stage's factor, and why you approve or not.",
            },
            "approved": {"type": "boolean"},
            "checklist": {"type": "array", "items": {"type": "string"}},
            "best_attempt": {"type": "integer"},
            "score": {"type": "number", "description": "0-10 match for this stage's factor"},
        },
        ["analysis", "approved", "checklist", "best_attempt"],
    ),
}
