"""The settle check: give a scene's mesh objects rigid bodies, let it run with nothing pushing,
and say what moved.

``check_scene(scene)`` works on a copy of the scene's mesh objects in a scene of its own, which
it removes afterwards (the scene and its objects are left as they were); ``in_place=True``
changes the scene itself (the CLI, on a file it opened only to read, and the render process, on
its own copy). ``write_results`` writes ``physics.json``; ``blend_path`` writes the scene with
its rigid bodies, at the start frame, to a .blend of its own. ``run_job`` is the render
process's ``{"kind": "physics"}`` job.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import bpy
import numpy as np

from ..scene import file as scene_file
from . import contacts as contacts_mod
from . import frames as frames_mod
from . import materials, roles, setup, shapes, simulate, verdicts
from .meshes import mesh_data

MAX_SECONDS = 60.0
MAX_FPS = 240


def check_scene(
    scene=None,
    seconds: float = 2.0,
    fps: int = 24,
    in_place: bool = False,
    blend_path: str | os.PathLike | None = None,
    pictures: dict | None = None,
) -> dict:
    """Make ``scene`` (the current one by default) physics-ready and run the settle check for
    ``seconds`` at ``fps``. Returns the report: ``{"ready", "seconds", "fps", "frames",
    "objects": {name: {...}}, "summary", "timing"}``. Raises ValueError for bad arguments.
    ``pictures`` (``{"frames": [0, 48], "out": folder, "render": render options, "chosen":
    device}``) also renders the scene at those frames of the simulation (frames.py): the
    report's ``pictures`` lists the render results."""
    if not 0 < seconds <= MAX_SECONDS:
        raise ValueError(f"seconds must be more than 0 and at most {MAX_SECONDS:g}, got {seconds}")
    if int(fps) != fps or not 1 <= fps <= MAX_FPS:
        raise ValueError(f"fps must be a whole number from 1 to {MAX_FPS}, got {fps}")
    scene = scene or bpy.context.scene
    fps, frames = int(fps), max(1, round(seconds * fps))
    started = time.perf_counter()
    setup.evaluate(scene)
    originals = setup.mesh_objects(scene)
    overrides = {o.name: r for o in originals if (r := roles.override(o)) is not None}
    if in_place:
        work, names, start = scene, {o: o.name for o in originals}, scene.frame_current
        setup.detach([o for o in originals if overrides.get(o.name) != "none"])
    else:
        work, names = setup.working_copy(scene, originals)
        start = 1
        for dup in names:
            dup["viga_physics_source"] = names[dup]
    try:
        work.render.fps, work.render.fps_base = fps, 1.0
        report = _check(work, names, overrides, start, frames, fps)
        report["seconds"] = frames / fps
        if pictures:
            t0 = time.perf_counter()
            picks = sorted({min(max(int(k), 0), frames) for k in pictures.get("frames") or ()})
            report["pictures"] = frames_mod.render_frames(
                scene,
                work,
                names,
                start,
                picks,
                str(pictures["out"]),
                pictures.get("render") or {},
                pictures.get("chosen"),
            )
            report["timing"]["pictures_s"] = round(time.perf_counter() - t0, 4)
        if blend_path is not None:
            _write_blend(work, blend_path)
    finally:
        if not in_place:
            setup.remove_copy(work)
    report["timing"]["total_s"] = round(time.perf_counter() - started, 4)
    return report


def _check(work, names: dict, overrides: dict, start: int, frames: int, fps: int) -> dict:
    t0 = time.perf_counter()
    depsgraph = setup.evaluate(work)
    objects: dict[str, dict] = {}
    live, meshes = {}, {}
    for obj, name in names.items():
        if overrides.get(name) == "none":
            objects[name] = _ignored(f"{roles.OVERRIDE_PROPERTY} = 'none'")
            continue
        md = mesh_data(obj, depsgraph)
        if md is None:
            objects[name] = _ignored("no faces")
            continue
        live[name], meshes[name] = obj, md
    contacts = contacts_mod.analyse(meshes)
    decided = roles.decide(meshes, contacts, {n: r for n, r in overrides.items() if n in meshes})
    specs, facts = [], {}
    for name, md in meshes.items():
        role = decided[name]
        if role.role == "none":
            objects[name] = _ignored(role.reason)
            continue
        fit = shapes.fit_shape(md, role.role)
        cls, why = materials.classify(live[name])
        volume, volume_from = fit.volume()
        mass = volume * materials.DENSITY[cls]
        specs.append(setup.BodySpec(live[name], role.role, fit.shape, mass))
        facts[name] = {
            "role": role.role,
            "role_reason": role.reason,
            "shape": fit.shape,
            "shape_reason": fit.reason,
            "material": cls,
            "material_from": why,
            "density_kg_m3": materials.DENSITY[cls],
            "volume_m3": round(volume, 6),
            "volume_from": volume_from,
            "mass_kg": round(max(mass, 0.001), 4) if role.role == "active" else None,
            "_fit": fit,
        }
    setup.add_rigid_bodies(work, specs, start, frames)
    t1 = time.perf_counter()
    tracks = simulate.run(
        work, {n: (live[n], meshes[n].local_center) for n in facts}, start, frames
    )
    t2 = time.perf_counter()
    for name, info in facts.items():
        objects[name] = _judged(info, contacts[name], tracks[name], fps)
    ordered = {n: objects[n] for n in names.values() if n in objects}
    ready = all(o["verdict"] == "rests" for o in ordered.values() if o["role"] == "active")
    return {
        "ready": ready,
        "fps": fps,
        "frames": frames,
        "start_frame": start,
        "objects": ordered,
        "summary": verdicts.summary(ordered),
        "timing": {
            "prepare_s": round(t1 - t0, 4),
            "simulate_s": round(t2 - t1, 4),
            "per_frame_ms": round((t2 - t1) / (frames + 1) * 1000, 3),
        },
    }


def _ignored(reason: str) -> dict:
    return {"role": "none", "shape": None, "verdict": "ignored", "detail": reason}


def _judged(info: dict, contact, track, fps: int) -> dict:
    fit = info.pop("_fit")
    m = verdicts.motion(track.positions, track.rotations, fps)
    out = {
        **info,
        "moved_m": round(m.moved, 5),
        "turned_deg": round(m.turned, 3),
        "peak_speed_m_s": round(m.peak_speed, 4),
        "support": contact.below,
        "gap_m": None if contact.gap is None else round(contact.gap, 5),
        "slope_deg": round(contact.slope_deg, 2),
        "overlaps": [
            {"other": o.other, "depth_m": round(o.depth, 5), "axis": o.axis}
            for o in contact.overlaps
        ],
    }
    if info["role"] == "passive":
        out.update(verdict="support", detail=info["role_reason"], amount="")
        return out
    verdict, detail, amount = verdicts.judge(
        contact, m, fit.shape, fit.half, np.asarray(track.rotations[0])
    )
    out.update(verdict=verdict, detail=detail, amount=amount)
    return out


def _write_blend(scene, path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    scene_file.write_scene(str(tmp), scene)
    os.replace(tmp, path)


def write_results(report: dict, out: str | os.PathLike) -> Path:
    """Write ``report`` to ``out/physics.json`` (atomically); returns the path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "physics.json"
    tmp = out / ".physics.json.tmp"
    tmp.write_text(json.dumps(report, indent=2))
    os.replace(tmp, path)
    return path


def run_job(job: dict) -> dict:
    """The render process's physics job: ``{"kind": "physics", "seconds", "fps", "out",
    "pictures": {"frames", "render"} or absent, "device"}`` → ``{"ok": True, "physics":
    report}``. A job that names the scene file it opened (``blend``) owns that scene and works
    in place; without one it runs in the artist's Blender (the in-process fallback) and works
    on a copy. ``pictures`` renders those frames into ``out`` (which it then needs)."""
    out = job.get("out")
    pictures = job.get("pictures")
    if pictures and not out:
        return {"ok": False, "error": "physics: pictures need an 'out' folder"}
    if pictures:
        pictures = {**pictures, "out": out, "chosen": job.get("device")}
    try:
        report = check_scene(
            bpy.context.scene,
            seconds=float(job.get("seconds", 2.0)),
            fps=job.get("fps", 24),
            in_place=bool(job.get("blend")),
            blend_path=Path(out) / "physics.blend"
            if out and job.get("write_blend", True)
            else None,
            pictures=pictures,
        )
    except ValueError as exc:
        return {"ok": False, "error": f"physics: {exc}"}
    if out:
        write_results(report, out)
    return {"ok": True, "physics": report}
