"""Interactions (a prompt's event played by rigid-body physics): the bodies a scene starts with,
the bake of the rigid-body cache, each moving object's trajectory and the frames that show it.

``prepare(scene, frames)`` gives every mesh object that has no rigid body yet one that fits it
(the settle check's roles, shapes and masses) and a rigid-body world covering ``frames`` frames;
the model's code then sets up the event (keyframes, the kinematic handoff, fields). ``bake``
bakes the rigid-body point cache (stored in the .blend) from the scene's start frame for at
most the run's frame cap; ``trajectories`` reads where each body went; ``run_job`` is the render
process's ``{"kind": "bake"}`` job: bake, trajectories, frames rendered, the baked scene saved.
Nothing here is reachable from model code: model code may not bake (tools/code/policy).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from pathlib import Path

import bpy
import numpy as np
from mathutils import Vector

from ..scene import file as scene_file
from . import contacts as contacts_mod
from . import materials, roles, setup, shapes
from .meshes import mesh_data

MAX_FRAMES = 1000  # the largest --frames a run may ask for
SHEET_FRAMES = 6  # frames on the verifier's contact sheet


def prepare(scene, frames: int, fps: int = 24) -> dict:
    """Rigid bodies for the mesh objects of ``scene`` that have none (roles, shapes and masses
    as the settle check gives them) and a world from the scene's start frame for ``frames``
    frames at ``fps``. Returns ``{name: role}`` of the bodies added."""
    scene.render.fps, scene.render.fps_base = int(fps), 1.0
    setup.evaluate(scene)
    start = scene.frame_start
    candidates = [o for o in setup.mesh_objects(scene) if o.rigid_body is None]
    overrides = {o.name: r for o in candidates if (r := roles.override(o)) is not None}
    setup.detach([o for o in candidates if overrides.get(o.name) != "none"])
    depsgraph = setup.evaluate(scene)
    meshes, live = {}, {}
    for obj in candidates:
        if overrides.get(obj.name) == "none":
            continue
        md = mesh_data(obj, depsgraph)
        if md is not None:
            meshes[obj.name], live[obj.name] = md, obj
    decided = roles.decide(
        meshes, contacts_mod.analyse(meshes), {n: r for n, r in overrides.items() if n in meshes}
    )
    specs = []
    for name, md in meshes.items():
        role = decided[name].role
        if role == "none":
            continue
        fit = shapes.fit_shape(md, role)
        volume, _from = fit.volume()
        cls, _why = materials.classify(live[name])
        specs.append(setup.BodySpec(live[name], role, fit.shape, volume * materials.DENSITY[cls]))
    if scene.rigidbody_world is None or specs:
        kept = _kept_bodies(scene)
        setup.add_rigid_bodies(scene, specs, start, frames)
        _restore_bodies(scene, kept)
    set_range(scene, frames)
    return {s.obj.name: s.role for s in specs}


def _kept_bodies(scene) -> list:
    """Objects that already had a rigid body (a new world would drop them from its collection)."""
    world = scene.rigidbody_world
    if world is None or world.collection is None:
        return []
    return list(world.collection.objects)


def _restore_bodies(scene, objects: list) -> None:
    collection = scene.rigidbody_world.collection
    for obj in objects:
        if obj.name not in collection.objects:
            collection.objects.link(obj)


def set_range(scene, frames: int) -> None:
    """The scene's frame range and the rigid-body cache cover ``frames`` frames from its start."""
    start = scene.frame_start
    scene.frame_end = start + frames - 1
    world = scene.rigidbody_world
    if world is not None:
        world.point_cache.frame_start = start
        world.point_cache.frame_end = start + frames - 1


def bake(scene, frames: int, cap: int) -> dict:
    """Bake the rigid-body cache of ``scene`` for ``min(frames, cap)`` frames (the cache is kept
    in memory and saved with the .blend). Returns ``{"frames", "seconds", "baked"}``."""
    if scene.rigidbody_world is None:
        raise ValueError("the scene has no rigid-body world: nothing to simulate")
    frames = max(1, min(int(frames), int(cap)))
    set_range(scene, frames)
    cache = scene.rigidbody_world.point_cache
    if cache.use_disk_cache:  # a memory cache is stored in the .blend itself (setting it
        cache.use_disk_cache = False  # when already off crashes the bake: Blender 5.2)
    t0 = time.perf_counter()
    # the context's own scene is baked as it is: an override (even of the same scene) crashes
    # the bake in a file opened with open_mainfile (Blender 5.2, measured)
    same = bpy.context.scene == scene
    override = contextlib.nullcontext() if same else bpy.context.temp_override(scene=scene)
    with override:
        if cache.is_baked:
            bpy.ops.ptcache.free_bake_all()
        bpy.ops.ptcache.bake_all(bake=True)
    return {
        "frames": frames,
        "seconds": round(time.perf_counter() - t0, 3),
        "baked": bool(cache.is_baked),
    }


def moving_objects(scene) -> list:
    """The objects the event can move: active rigid bodies and animated objects."""
    out = []
    for obj in scene.objects:
        body = obj.rigid_body
        animated = obj.animation_data is not None and obj.animation_data.action is not None
        if (body is not None and body.type == "ACTIVE") or (animated and obj.type == "MESH"):
            out.append(obj)
    return out


def tilt_degrees(matrix) -> float:
    """How far an object's own up axis leans from world up."""
    up = matrix.to_3x3() @ Vector((0.0, 0.0, 1.0))
    if up.length < 1e-9:
        return 0.0
    return math.degrees(up.angle(Vector((0.0, 0.0, 1.0))))


def trajectories(scene, first: int, last: int) -> dict[str, dict]:
    """Each moving object's path from frame ``first`` to ``last``: start and end position, the
    distance, peak speed (m/s), final rotation (XYZ degrees) and tilt from upright (degrees)."""
    objects = moving_objects(scene)
    fps = scene.render.fps / (scene.render.fps_base or 1.0)
    count = last - first + 1
    pos = {o.name: np.empty((count, 3)) for o in objects}
    final = {}
    layer = setup.view_layer_of(scene)
    with bpy.context.temp_override(scene=scene, view_layer=layer):
        for k in range(count):
            scene.frame_set(first + k)
            for obj in objects:
                pos[obj.name][k] = obj.matrix_world.translation
        for obj in objects:
            m = obj.matrix_world.copy()
            final[obj.name] = (m.to_euler(), tilt_degrees(m))
        scene.frame_set(first)
    out = {}
    for obj in objects:
        p = pos[obj.name]
        steps = np.linalg.norm(np.diff(p, axis=0), axis=1) if count > 1 else np.zeros(1)
        euler, tilt = final[obj.name]
        out[obj.name] = {
            "start": [round(float(v), 3) for v in p[0]],
            "end": [round(float(v), 3) for v in p[-1]],
            "moved_m": round(float(np.linalg.norm(p[-1] - p[0])), 3),
            "peak_speed_m_s": round(float(steps.max() * fps), 3),
            "final_rotation_deg": [round(math.degrees(a), 1) for a in euler],
            "tilt_deg": round(tilt, 1),
        }
    return out


def describe(paths: dict[str, dict], frames: int, fps: float) -> str:
    """The trajectories in lines for the model."""
    lines = [f"Trajectories over {frames} frames ({frames / fps:.2f} s at {fps:g} fps):"]
    for name, t in paths.items():
        lines.append(
            f"- {name}: start {t['start']} → end {t['end']} (moved {t['moved_m']} m), peak speed "
            f"{t['peak_speed_m_s']} m/s, final rotation {t['final_rotation_deg']}°, tilted "
            f"{t['tilt_deg']}° from upright"
        )
    if not paths:
        lines.append("- nothing moves: no active rigid body and no animated object")
    return "\n".join(lines)


def sheet_frames(first: int, last: int, count: int = SHEET_FRAMES) -> list[int]:
    """``count`` frames spread from ``first`` to ``last``, both included."""
    if last <= first:
        return [first]
    picks = np.linspace(first, last, min(count, last - first + 1))
    return sorted({int(round(f)) for f in picks})


def render_frames(scene, frames: list[int], out_dir: Path, render_opts: dict, chosen=None) -> list:
    """Render each of ``frames`` to ``out_dir/frame_NNNN.png``; returns [(frame, path)]."""
    from ..render import engine as render_tool

    out_dir.mkdir(parents=True, exist_ok=True)
    done = []
    layer = setup.view_layer_of(scene)
    for frame in frames:
        with bpy.context.temp_override(scene=scene, view_layer=layer):
            scene.frame_set(frame)
        path = out_dir / f"frame_{frame:04d}.png"
        result = render_tool.render(path=str(path), backend=chosen, **render_opts)
        if not result.get("ok"):
            raise RuntimeError(f"frame {frame} did not render: {result.get('error')}")
        done.append((frame, str(path)))
    with bpy.context.temp_override(scene=scene, view_layer=layer):
        scene.frame_set(scene.frame_start)
    return done


def run_job(job: dict) -> dict:
    """The render process's bake: ``{"kind": "bake", "frames", "cap", "out", "render": render
    options, "sheet_frames": n | "all", "save": path or absent}`` → ``{"ok", "bake",
    "trajectories", "text", "frames": [[frame, path]], "saved"}``. The scene is the job's own
    copy: it is baked in place and, with ``save``, written there (the bake stored in it)."""
    scene = bpy.context.scene
    frames, cap = int(job.get("frames") or 0), int(job.get("cap") or MAX_FRAMES)
    if not 1 <= frames <= min(cap, MAX_FRAMES):
        return {"ok": False, "error": f"bake: frames must be from 1 to {min(cap, MAX_FRAMES)}"}
    try:
        baked = bake(scene, frames, cap)
    except (ValueError, RuntimeError) as exc:
        return {"ok": False, "error": f"bake: {exc}"}
    first = scene.frame_start
    last = first + baked["frames"] - 1
    paths = trajectories(scene, first, last)
    fps = scene.render.fps / (scene.render.fps_base or 1.0)
    reply = {
        "ok": True,
        "bake": baked,
        "trajectories": paths,
        "text": describe(paths, baked["frames"], fps),
        "first": first,
        "last": last,
        "fps": fps,
    }
    out = job.get("out")
    if out:
        which = job.get("sheet_frames") or SHEET_FRAMES
        picks = list(range(first, last + 1)) if which == "all" else sheet_frames(first, last, which)
        reply["frames"] = render_frames(
            scene, picks, Path(out), job.get("render") or {}, job.get("device")
        )
    save = job.get("save")
    if save:
        with bpy.context.temp_override(scene=scene):
            scene.frame_set(first)
        tmp = f"{save}.tmp.blend"
        scene_file.write_scene(tmp, scene)
        os.replace(tmp, save)
        reply["saved"] = save
    return reply
