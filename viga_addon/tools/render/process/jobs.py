"""A render job run on the current scene: in the render process on its copy of the scene, or
in-process (the fallback) on the live one.

A job is JSON: ``{"kind": "render", "views": [view, ...], "device": chosen}`` or ``{"kind":
"refine", "refine": {refine_parameters' arguments}, "device": chosen, "stop_file": path or
absent, "scene": name or absent}`` where ``chosen`` is ``render.choose_device()``'s answer in the
artist's Blender (a factory-startup process does not have the artist's Cycles preferences). A
view is ``{"path", "render": {preset, engine, device, long_side, samples}, "camera": None |
{"location", "rotation" (radians XYZ), "lens"}, "hidden", "shown"}``: a temporary camera and the
visibility are applied for the render and undone after. A refinement tells each render to
``report`` (the worker's progress lines) and stops early, keeping its best state, once its
``stop_file`` exists; ``scene`` names the scene it must refine. ``{"kind": "physics",
"seconds", "fps", "out": folder or absent}`` is the settle check (``tools.physics.run_job``);
``{"kind": "bake", "frames", "cap", "out", "render", "sheet_frames", "save"}`` an interaction's
rigid-body bake with its frames (``tools.physics.event.run_job``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

import bpy
from mathutils import Euler, Vector

from .. import engine as render_tool

TEMP_CAMERA_NAME = "viga_viewer_camera"


def run_job(job: dict, report: Callable[[dict], None] | None = None) -> dict:
    """The job's reply: ``{"ok", "results": [one render result per view]}`` for renders,
    ``{"ok", "result": refine result, "values": {name: [floats]}}`` for a refinement, whose
    renders are told to ``report`` as they happen."""
    kind = job.get("kind")
    chosen = job.get("device")
    if kind == "render":
        results = [render_view_spec(view, chosen) for view in job.get("views") or []]
        return {"ok": all(r.get("ok") for r in results), "results": results}
    if kind == "refine":
        scene = job.get("scene")
        if scene and bpy.context.scene.name != scene:
            return {
                "ok": False,
                "error": f"the scene file opened on scene {bpy.context.scene.name!r}, not "
                f"{scene!r}, so the render process cannot refine {scene!r}",
            }
        progress = refine_progress(report, job.get("stop_file"))
        return refine_job(job.get("refine") or {}, chosen, progress)
    if kind == "physics":
        from ... import physics

        return physics.run_job(job)
    if kind == "bake":
        from ...physics import event

        return event.run_job(job)
    return {"ok": False, "error": f"unknown render job kind {kind!r}"}


def refine_progress(report: Callable[[dict], None] | None, stop_file: str | None):
    """The refiner's progress callback here: each render's figures go to ``report``, and the
    search stops (keeping its best state) once ``stop_file`` exists. A file, because this
    process reads no stdin while a job runs."""
    if report is None and not stop_file:
        return None

    def progress(info: dict) -> bool:
        if report is not None:
            report(info)
        return not (stop_file and os.path.exists(stop_file))

    return progress


def render_view_spec(view: dict, chosen: dict | None = None) -> dict:
    """Render one view of the current scene; the scene is as it was afterwards."""
    scene = bpy.context.scene
    hidden, shown = set(view.get("hidden") or ()), set(view.get("shown") or ())
    camera = None
    switched = []  # (object, previous hide_render)
    try:
        pose = view.get("camera")
        if pose:
            camera = render_tool.add_camera_object(
                scene,
                TEMP_CAMERA_NAME,
                Vector(pose["location"]),
                Euler(pose["rotation"]),
                pose.get("lens", 50.0),
            )
        if hidden or shown:
            for obj in scene.objects:
                want = (obj.name in hidden or obj.hide_render) and obj.name not in shown
                if obj is not camera and obj.hide_render != want:
                    switched.append((obj, obj.hide_render))
                    obj.hide_render = want
        return render_tool.render(
            path=view["path"],
            camera=camera.name if camera is not None else None,
            backend=chosen,
            **(view.get("render") or {}),
        )
    finally:
        for obj, previous in switched:
            obj.hide_render = previous
        if camera is not None:
            render_tool.remove_camera_object(camera)


def refine_job(args: dict, chosen: dict | None = None, progress=None) -> dict:
    """Run the refiner's whole search here; the reply carries the best values found, exactly,
    for ``apply_values`` in the artist's scene."""
    from ...refine import params as refine_params
    from ...refine import steps as refine

    args = dict(args)
    if chosen is not None and chosen.get("backend") is None and args.get("device") == "auto":
        args["device"] = "cpu"  # the artist's Blender found no GPU: do not look for one again
    result = refine.refine_parameters(**args, progress=progress)
    values = {}
    if result.get("ok"):
        scene = bpy.context.scene
        for name in result.get("params") or {}:
            values[name] = [float(v) for v in refine_params.resolve(name, scene).get()]
    result.pop("history", None)
    return {"ok": bool(result.get("ok")), "result": result, "values": values}


def apply_values(values: dict[str, list[float]], scene=None) -> None:
    """Set refined parameters by name in ``scene`` (the current one by default). Every name
    and value is checked before any is set: a ValueError naming a bad one leaves the scene as
    it was."""
    from ...refine import params as refine_params

    scene = scene or bpy.context.scene
    params = []
    for name, vals in values.items():
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in vals):
            raise ValueError(f"refined value of {name} is not a list of numbers: {vals!r}")
        try:
            param = refine_params.resolve(name, scene)
        except Exception as exc:
            raise ValueError(f"cannot apply the refined {name}: {exc}") from None
        if len(vals) != param.size:
            raise ValueError(f"refined {name} has {len(vals)} values, not {param.size}")
        params.append((param, vals))
    for param, vals in params:
        param.set([float(v) for v in vals])
