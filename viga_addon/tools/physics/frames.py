"""Pictures of the settle check: the scene rendered at chosen frames of the simulation (frame 0,
where everything starts, and the last, where it came to rest), through the scene's camera.

``render_frames`` is called by ``check_scene`` after the simulation, while its rigid bodies
still exist. In place (the render process, on its own copy of the scene) the scene itself is put
on each frame and rendered. On a working copy (the in-process fallback) the copy is put on the
frame and each original object is shown where its copy is for the render, then put back: the
artist's scene is as it was afterwards.
"""

from __future__ import annotations

import os

import bpy

from ..render import engine as render_tool
from .setup import view_layer_of


def render_frames(
    scene, work, names: dict, start: int, picks: list[int], out: str, render: dict, chosen=None
) -> list[dict]:
    """Render ``scene`` at the frames ``picks`` (counted from the check's start frame) into
    ``out/frame_NNN.png``; ``names`` maps each simulated object of ``work`` to its name in
    ``scene``. Returns one render result per frame, with its ``frame``."""
    results = []
    layer = view_layer_of(work)
    try:
        for k in picks:
            with bpy.context.temp_override(scene=work, view_layer=layer):
                work.frame_set(start + k)
            path = os.path.join(out, f"frame_{k:03d}.png")
            result = _render_posed(scene, work, names, path, render, chosen)
            results.append({**result, "frame": k})
    finally:
        with bpy.context.temp_override(scene=work, view_layer=layer):
            work.frame_set(start)
    return results


def _render_posed(scene, work, names: dict, path: str, render: dict, chosen) -> dict:
    saved = []  # (original, its matrix_basis)
    try:
        if work is not scene:
            for dup, name in names.items():
                original = scene.objects.get(name)
                if original is not None and original is not dup:
                    saved.append((original, original.matrix_basis.copy()))
                    original.matrix_world = dup.matrix_world.copy()
        return render_tool.render(path=path, backend=chosen, **render)
    finally:
        for original, basis in saved:
            original.matrix_basis = basis
