"""Time snapshot / restore and execute_code overhead on scenes of 200 and 2,000 objects.

Run from the repository root:  .venv/bin/python bench/snapshot_bench.py [--runs 5]
Prints one table row per scene size (medians over --runs runs, in milliseconds). snapshot =
stage-boundary file (.blend + side-car, digest, fsync); checkpoint = what execute_code writes
before running code; execute_code ok = checkpoint + two fingerprints + a one-line edit.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bpy  # noqa: E402

from viga_addon.tools.code.execute import execute_code
from viga_addon.tools.scene import fingerprint
from viga_addon.tools.snapshot import store as snap

MATERIALS = 40


def build_scene(object_count: int) -> None:
    """Meshes (cubes and spheres sharing 40 Principled materials), 4 lights and a camera."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    materials = []
    for i in range(MATERIALS):
        mat = bpy.data.materials.new(f"Mat {i:02d}")
        if mat.node_tree is None:
            mat.use_nodes = True
        bsdf = next(n for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
        bsdf.inputs["Base Color"].default_value = (i / MATERIALS, 0.5, 0.3, 1.0)
        bsdf.inputs["Roughness"].default_value = (i % 10) / 10
        materials.append(mat)
    cube = bpy.data.meshes.new("proto cube")
    cube.from_pydata(
        [(x, y, z) for x in (0, 1) for y in (0, 1) for z in (0, 1)],
        [],
        [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)],
    )
    collections = []
    for c in range(10):
        coll = bpy.data.collections.new(f"Group {c}")
        scene.collection.children.link(coll)
        collections.append(coll)
    meshes = object_count - 5
    for i in range(meshes):
        mesh = cube.copy()  # own mesh per object, as model-made scenes have
        mesh.name = f"Mesh {i:04d}"
        mesh.materials.append(materials[i % MATERIALS])
        obj = bpy.data.objects.new(f"Object {i:04d}", mesh)
        obj.location = (i % 50, (i // 50) % 50, i // 2500)
        obj.rotation_euler.z = i * 0.01
        collections[i % 10].objects.link(obj)
    bpy.data.meshes.remove(cube)
    for i, kind in enumerate(("AREA", "POINT", "SUN", "SPOT")):
        light = bpy.data.lights.new(f"Light {i}", kind)
        light.energy = 100 + i
        obj = bpy.data.objects.new(f"Light {i}", light)
        obj.location = (i * 3, -4, 5)
        scene.collection.objects.link(obj)
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(cam)
    scene.camera = cam
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 16
    bpy.context.view_layer.update()


def _median_ms(values):
    return statistics.median(values) * 1000


def bench(object_count: int, runs: int, directory: Path) -> dict:
    build_scene(object_count)
    snap_times, restore_times, restore_cpu, size = [], [], [], 0
    for _ in range(runs):
        result = snap.snapshot("bench", directory)
        snap_times.append(result["seconds"])
        size = Path(result["path"]).stat().st_size
        bpy.data.objects["Object 0000"].location.x += 1  # something to undo
        cpu = time.process_time()
        restore_times.append(snap.restore("bench", directory)["seconds"])
        restore_cpu.append(time.process_time() - cpu)
    assert len(bpy.context.scene.objects) == object_count
    fingerprint_times, checkpoint_times, ok_times, fail_times = [], [], [], []
    for _ in range(runs):
        start = time.perf_counter()
        fingerprint.capture()
        fingerprint_times.append(time.perf_counter() - start)
        handle = snap.checkpoint()
        checkpoint_times.append(handle.seconds)
        handle.discard()
        ok_times.append(
            execute_code("bpy.data.objects['Object 0001'].location.z += 0.1")["seconds"]
        )
    # errors last: a restore makes the next depsgraph update a full rebuild
    for _ in range(runs):
        failed = execute_code(
            "bpy.data.objects['Object 0001'].location.z += 1\nraise ValueError('x')"
        )
        assert failed["restored"], failed
        fail_times.append(failed["seconds"])
    return {
        "objects": object_count,
        "file_mb": size / 1e6,
        "snapshot": _median_ms(snap_times),
        "restore": _median_ms(restore_times),
        "restore_cpu": _median_ms(restore_cpu),
        "fingerprint": _median_ms(fingerprint_times),
        "checkpoint": _median_ms(checkpoint_times),
        "exec_ok": _median_ms(ok_times),
        "exec_error": _median_ms(fail_times),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 2000])
    args = parser.parse_args(argv)
    print(
        f"Blender {bpy.app.version_string}, median of {args.runs} runs, wall times in ms "
        f"(restore CPU = process time; load average now {os.getloadavg()[0]:.1f})"
    )
    header = (
        "objects",
        "file MB",
        "snapshot",
        "restore",
        "restore CPU",
        "checkpoint",
        "fingerprint",
        "execute_code ok",
        "execute_code error+restore",
    )
    print(" | ".join(header))
    with tempfile.TemporaryDirectory(prefix="viga_bench_") as tmp:
        for count in args.sizes:
            r = bench(count, args.runs, Path(tmp))
            print(
                f"{r['objects']:>7} | {r['file_mb']:7.2f} | {r['snapshot']:8.1f} | "
                f"{r['restore']:7.1f} | {r['restore_cpu']:11.1f} | {r['checkpoint']:10.1f} | {r['fingerprint']:11.1f} | {r['exec_ok']:15.1f} | "
                f"{r['exec_error']:26.1f}"
            )


if __name__ == "__main__":
    main()
