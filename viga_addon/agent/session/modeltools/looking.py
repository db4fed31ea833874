"""The tools that look without changing the scene: render_view, initialize_viewpoint,
set_camera, investigate, set_visibility (one record each). Their renders run in the render
process: each call waits (yields) until its images are there."""

from __future__ import annotations

from ....stages.base import INVESTIGATE_OPERATIONS
from ...state import ToolCall
from ..base import SessionBase
from .record import OBJECTS, VEC3, Tool, Waits, from_host

RENDER_VIEW_ARGS = ("view", "azimuth", "elevation", "distance", "around", "isolate")


def _check_render_view(args: dict) -> str | dict:
    """Only the viewpoint arguments reach the host (never a path or render settings); a name
    given as a string is a list of one. Their values are the host's to check."""
    unknown = sorted(set(args) - set(RENDER_VIEW_ARGS))
    if unknown:
        return (
            f"render_view has no argument {', '.join(repr(u) for u in unknown)}; it takes "
            f"{', '.join(RENDER_VIEW_ARGS)} (all optional: no arguments renders the photo's camera)"
        )
    checked = {k: v for k, v in args.items() if v is not None}
    for key in ("around", "isolate"):
        if isinstance(checked.get(key), str):
            checked[key] = [checked[key]]
    return checked


def _render_view(s: SessionBase, call: ToolCall, args: dict) -> Waits:
    """A preview from the viewpoint asked for (the photo's camera by default), at the session's
    preview settings, into the round's views/ folder; the result text gives the camera pose."""
    views = s.round_dir() / "views"
    k = len(list(views.glob("view_*.png"))) if views.exists() else 0
    settings = s.state.settings
    request = {
        **args,
        "path": str(views / f"view_{k + 1}.png"),
        "long_side": settings.preview_size,
        "samples": settings.preview_samples,
        "device": settings.render_device,
        "engine": settings.engine,
    }
    return from_host((yield from s.host_wait("render", "render_view", request)))


TOOLS = (
    Tool(
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
            "around": {**OBJECTS, "description": "objects whose bounding box centre is looked at"},
            "isolate": {**OBJECTS, "description": "render only these objects"},
        },
        category="render",
        handler=_render_view,
        check=_check_render_view,
    ),
    Tool(
        "initialize_viewpoint",
        "Render several views around the joint bounding box of the given objects.",
        {"object_names": OBJECTS},
        required=["object_names"],
        category="render",
        views=True,
    ),
    Tool(
        "set_camera",
        "Look from a viewpoint of your choice (does not change the scene camera).",
        {
            "location": VEC3,
            "look_at": VEC3,
            "rotation": {**VEC3, "description": "XYZ Euler degrees, instead of look_at"},
            "lens": {"type": "number"},
        },
        required=["location"],
        category="render",
        views=True,
    ),
    Tool(
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
        required=["operation"],
        category="render",
        views=True,
    ),
    Tool(
        "set_visibility",
        "Show or hide objects in inspection renders only (the scene is not changed).",
        {"show": OBJECTS, "hide": OBJECTS},
        category="other_tools",
    ),
)
