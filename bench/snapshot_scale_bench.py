"""Snapshot and revert time as the scene grows: 500, 1,000 and 2,000 objects.

Times viga_addon.tools.snapshot's public calls on scenes of N objects (own mesh and one of 20
materials each, a light and a camera): ``snapshot`` (stage/round snapshot file), ``restore``
(back to it after a change), ``checkpoint`` + ``rollback`` (execute_code's undo path). A
snapshot's digests are read on a worker thread (tools/snapshot_digests.py): the bench waits for
them before changing the scene, as a run restores a round later, and reports that wait apart. Restore
and rollback run both ways in the same run, on the same scene and change: the full restore
(everything removed and appended again: Blender's ``libraries.load`` is superlinear in what it
appends) and the changed-only one (the default: digests say what changed, only that is
appended). The scaling exponent k fits time ∝ N^k between the last two sizes (k = 1: linear).

A second table splits the changed-only restore: writing the scene as it is now, reading the
digests of that file, the append of what changed (Blender's ``libraries.load`` and the remaps),
and the rest (removing what was created, view layers, settings, and Blender's depsgraph update
of the restored scene). For reference, the last column is Blender's own depsgraph update after
one object is added by hand to the same scene: the floor any restore that brings an object
back or removes one pays.

    .venv/bin/python bench/snapshot_scale_bench.py [--sizes 500,1000,2000] [--reps 1]

Prints a Markdown table and, last, a line ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

MATERIALS = 20


def build_scene(count: int) -> None:
    """``count`` objects: count-2 meshes (own data, shared materials), a sun, a camera."""
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    materials = []
    for i in range(MATERIALS):
        mat = bpy.data.materials.new(f"mat_{i:02d}")
        mat.diffuse_color = (i / MATERIALS, 0.4, 0.2, 1.0)
        materials.append(mat)
    verts = [(x, y, z) for x in (0, 1) for y in (0, 1) for z in (0, 1)]
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    for i in range(count - 2):
        mesh = bpy.data.meshes.new(f"mesh_{i:04d}")
        mesh.from_pydata(verts, [], faces)
        mesh.materials.append(materials[i % MATERIALS])
        obj = bpy.data.objects.new(f"part_{i:04d}", mesh)
        obj.location = (i % 32, (i // 32) % 32, i // 1024)
        scene.collection.objects.link(obj)
    sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    cam = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    scene.collection.objects.link(sun)
    scene.collection.objects.link(cam)
    scene.camera = cam


def change_scene() -> None:
    """What a model's code does between snapshot and revert: move, add, delete, recolour."""
    import bpy

    objs = [o for o in bpy.context.scene.objects if o.type == "MESH"]
    for o in objs[:5]:
        o.location.z += 1.0
    bpy.data.objects.remove(objs[-1], do_unlink=True)
    extra = bpy.data.objects.new("added", bpy.data.meshes.new("added"))
    bpy.context.scene.collection.objects.link(extra)
    bpy.data.materials["mat_00"].diffuse_color = (0, 1, 0, 1)


def fingerprint() -> tuple:
    import bpy

    scene = bpy.context.scene
    return (
        len(scene.objects),
        sorted(o.name for o in scene.objects)[:3],
        tuple(round(v, 4) for o in list(scene.objects)[:5] for v in o.location),
        tuple(bpy.data.materials["mat_00"].diffuse_color),
    )


def depsgraph_after_adding_one() -> float:
    """Seconds of ``view_layer.update()`` after linking one new empty (Blender's own cost)."""
    import bpy

    layer = bpy.context.view_layer
    layer.update()
    extra = bpy.data.objects.new("reference_empty", None)
    bpy.context.scene.collection.objects.link(extra)
    t0 = time.perf_counter()
    layer.update()
    seconds = time.perf_counter() - t0
    bpy.data.objects.remove(extra)
    layer.update()
    return seconds


class Parts:
    """Time spent in the named functions of the changed-only restore (wrapped while measuring)."""

    NAMES = (
        ("snapshot", "_write_roots", "write now"),
        ("snapshot_delta", "file_digests", "digests"),
        ("snapshot_delta", "bring_back", "append"),
    )

    def __init__(self):
        from viga_addon.tools.snapshot import delta as snapshot_delta
        from viga_addon.tools.snapshot import store as snapshot

        self.modules = {"snapshot": snapshot, "snapshot_delta": snapshot_delta}
        self.seconds = {label: 0.0 for _m, _f, label in self.NAMES}
        self.saved = []

    def __enter__(self):
        for module_name, func, label in self.NAMES:
            module = self.modules[module_name]
            real = getattr(module, func)
            self.saved.append((module, func, real))

            def timed(*a, _real=real, _label=label, **k):
                t0 = time.perf_counter()
                try:
                    return _real(*a, **k)
                finally:
                    self.seconds[_label] += time.perf_counter() - t0

            setattr(module, func, timed)
        return self

    def __exit__(self, *_exc):
        for module, func, real in self.saved:
            setattr(module, func, real)


def _full_only(*_args):
    from viga_addon.tools.snapshot.delta import Fallback

    raise Fallback("benchmark: the full restore")


def measure(count: int, reps: int, tmp: Path) -> dict:
    """Both restore paths on the same scene, alternating: the full one (everything removed and
    appended again, as before) and the changed-only one (the default)."""
    from viga_addon.tools.snapshot import digests as snapshot_digests
    from viga_addon.tools.snapshot import store as snap

    build_scene(count)
    before = fingerprint()
    keys = ("snapshot", "checkpoint", "restore_full", "restore", "rollback_full", "rollback")
    times: dict[str, list[float]] = {k: [] for k in (*keys, "digests_thread")}
    appended: list[int] = []
    parts: list[dict] = []
    changed_only = snap._restore_changed
    for i in range(reps):
        for mode in ("full", "changed"):
            snap._restore_changed = _full_only if mode == "full" else changed_only
            suffix = "_full" if mode == "full" else ""
            try:
                t0 = time.perf_counter()
                r = snap.snapshot(f"s{count}_{i}_{mode}", tmp)
                times["snapshot"].append(time.perf_counter() - t0)
                assert r["ok"], r
                t0 = time.perf_counter()
                snapshot_digests.settle()  # a run restores a round later, not at once
                times["digests_thread"].append(time.perf_counter() - t0)
                change_scene()
                with Parts() as split:
                    t0 = time.perf_counter()
                    rr = snap.restore(r["path"])
                    times["restore" + suffix].append(time.perf_counter() - t0)
                if mode == "changed":
                    rest = times["restore"][-1] - sum(split.seconds.values())
                    parts.append({**split.seconds, "rest": rest})
                if not rr.get("ok") or fingerprint() != before:
                    raise RuntimeError(f"{mode} restore at {count} objects failed: {rr}")
                t0 = time.perf_counter()
                handle = snap.checkpoint()
                times["checkpoint"].append(time.perf_counter() - t0)
                change_scene()
                t0 = time.perf_counter()
                rb = snap.rollback(handle)
                times["rollback" + suffix].append(time.perf_counter() - t0)
                handle.discard()
                if not rb.get("ok") or fingerprint() != before:
                    raise RuntimeError(f"{mode} rollback at {count} objects failed: {rb}")
                if mode == "changed":
                    if rr["appended"] == "all" or rb["appended"] == "all":
                        raise RuntimeError(f"the changed-only path fell back: {rr} {rb}")
                    appended.extend((rr["appended"], rb["appended"]))
            finally:
                snap._restore_changed = changed_only
    out = {k: common.median(v) for k, v in times.items()}
    out["appended"] = max(appended)
    out["parts"] = {k: common.median([p[k] for p in parts]) for k in parts[0]}
    out["depsgraph_add_one"] = common.median([depsgraph_after_adding_one() for _ in range(3)])
    return out


def main() -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="500,1000,2000")
    ap.add_argument("--reps", type=int, default=1)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="viga-bench-"))
    rows = {n: measure(n, args.reps, tmp) for n in sizes}
    result = {"sizes": rows, "reps": args.reps}
    if len(sizes) >= 2:
        a, b = sizes[-2], sizes[-1]
        result["exponent"] = {
            k: math.log(rows[b][k] / rows[a][k]) / math.log(b / a)
            for k in rows[a]
            if k not in ("appended", "parts", "depsgraph_add_one", "digests_thread")
        }
    print(markdown(result))
    print("RESULT " + json.dumps(result))
    return result


def markdown(r: dict) -> str:
    ms = lambda v: f"{1000 * v:.0f} ms" if v >= 0.01 else f"{1000 * v:.1f} ms"  # noqa: E731
    keys = ("snapshot", "checkpoint", "restore_full", "restore", "rollback_full", "rollback")
    rows = [
        [f"{int(n):,}", *(ms(t[k]) for k in keys), str(t["appended"])]
        for n, t in r["sizes"].items()
    ]
    if "exponent" in r:
        rows.append(
            [
                "scaling k (t ∝ N^k, last two sizes)",
                *(f"{r['exponent'][k]:.2f}" for k in keys),
                "",
            ]
        )
    main = common.table(
        [
            "objects",
            "snapshot (write .blend)",
            "checkpoint (execute_code undo)",
            "restore, full (before)",
            "restore, changed only",
            "rollback, full (before)",
            "rollback, changed only",
            "datablocks appended (changed only)",
        ],
        rows,
    )
    split = [
        [
            f"{int(n):,}",
            ms(t["restore"]),
            *(ms(t["parts"][k]) for k in ("write now", "digests", "append", "rest")),
            ms(t["depsgraph_add_one"]),
            ms(t["digests_thread"]),
        ]
        for n, t in r["sizes"].items()
    ]
    return (
        main
        + "\n\n"
        + common.table(
            [
                "objects",
                "restore, changed only",
                "write the scene now",
                "digests of it",
                "append + remap",
                "rest (incl. depsgraph update)",
                "Blender: depsgraph update after adding one object",
                "snapshot's digests still under way on the thread after it",
            ],
            split,
        )
    )


if __name__ == "__main__":
    main()
