"""The settle check (viga_addon.tools.physics) against ground truth, and its speed.

Part 1, verdicts: a generated set of scenes (fixed seed), each a ground plane, one test object
and one bystander resting elsewhere. The test object is a box, a sphere or a cylinder, turned
about Z at random, 0.2-1.0 m, of a random material, and it either rests on the ground (give or take
1 mm), floats 0.5-10 cm above it, is sunk 0.5-5 cm into it, or rests flush on a 20-35° slope. Ground truth
follows the check's own definition of ready (no active object moves more than 1 cm or turns more
than 2°): a scene is "not ready" when its object floats or is sunk by more than 1 cm, or stands
on a slope; a float or sink of 1 cm or less is within tolerance (ready), and the bench also
counts whether the check's geometry still named it. Reported: precision and recall of "not
ready", and per class the share whose verdict is the expected one (rests; floats; sunk; on a
slope: slides, rolls or tips).

Part 2, speed: 10, 100 and 500 objects (boxes, spheres and cylinders in a grid on a ground
plane, each resting), the whole check on a working copy: preparing (geometry, roles, shapes,
rigid bodies), the simulation per frame (48 frames at 24 fps), and the total.

    .venv/bin/python bench/physics_bench.py            # print the Markdown
    .venv/bin/python bench/physics_bench.py --write    # and replace our section of BENCHMARKS.md

Prints a Markdown section and, last, a line ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

BEGIN = "<!-- bench/physics_bench.py: begin (generated; rerun with --write) -->"
END = "<!-- bench/physics_bench.py: end -->"
SHAPES = ("box", "sphere", "cylinder")
MATERIALS = ("oak", "steel", "red_plastic", "glass", "rubber", "porcelain", "cotton")
FLOATS_CM = (0.5, 0.75, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0)
SUNK_CM = (0.5, 0.8, 1.5, 2.0, 3.0, 4.0, 5.0)
SLOPES_DEG = (20.0, 25.0, 30.0, 35.0)
TOLERANCE_CM = 1.0
EXPECTED = {
    "rests": {"rests"},
    "floats": {"floats"},
    "sunk": {"sunk"},
    "slope": {"slides", "rolls", "tips"},
}


def _add(shape: str, size: float, spin: float, name: str, material: str | None = None):
    """A ``shape`` standing on z = 0 (its base there), ``size`` m tall and wide."""
    import bpy

    if shape == "box":
        bpy.ops.mesh.primitive_cube_add(size=size, location=(0, 0, size / 2))
    elif shape == "sphere":
        bpy.ops.mesh.primitive_uv_sphere_add(radius=size / 2, location=(0, 0, size / 2))
    else:
        bpy.ops.mesh.primitive_cylinder_add(
            radius=size / 2, depth=size, vertices=24, location=(0, 0, size / 2)
        )
    obj = bpy.context.object
    obj.name = name
    obj.rotation_euler.z = spin
    if material:
        obj.data.materials.append(
            bpy.data.materials.get(material) or bpy.data.materials.new(material)
        )
    return obj


def cases(seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    out = []

    def case(kind, shape, offset_cm=0.0, slope=0.0):
        out.append(
            {
                "kind": kind,
                "shape": shape,
                "offset_cm": offset_cm,
                "slope_deg": slope,
                "size": round(rng.uniform(0.2, 1.0), 3),
                "spin": round(rng.uniform(0, math.pi), 3),
                "material": rng.choice(MATERIALS),
                "bystander": rng.choice(SHAPES),
            }
        )

    for k in range(12):  # resting, give or take a millimetre (a careful reconstruction)
        case("rests", SHAPES[k % 3], round(rng.uniform(-0.1, 0.1), 3))
    for k, gap in enumerate(FLOATS_CM + FLOATS_CM[2:6]):
        case("floats", SHAPES[k % 3], gap)
    for k, depth in enumerate(SUNK_CM + SUNK_CM[2:4]):
        case("sunk", SHAPES[k % 3], depth)
    for k in range(9):
        case("slope", SHAPES[k % 3], slope=SLOPES_DEG[k % len(SLOPES_DEG)])
    for c in out:
        within = c["kind"] in ("floats", "sunk") and c["offset_cm"] <= TOLERANCE_CM
        c["truth_not_ready"] = c["kind"] != "rests" and not within
    return out


def build(c: dict) -> None:
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.mesh.primitive_plane_add(size=8)
    bpy.context.object.name = "ground"
    obj = _add(c["shape"], c["size"], c["spin"], "thing", c["material"])
    if c["kind"] in ("floats", "rests"):
        obj.location.z += c["offset_cm"] / 100
    elif c["kind"] == "sunk":
        obj.location.z -= c["offset_cm"] / 100
    elif c["kind"] == "slope":
        tilt = math.radians(c["slope_deg"])
        ground = bpy.data.objects["ground"]
        ground.rotation_euler = (0, tilt, 0)
        obj.rotation_euler = (0, tilt, 0)  # flush with the slope (no spin: its base lies flat)
        half = c["size"] / 2
        obj.location = (half * math.sin(tilt), 0, half * math.cos(tilt))
    bystander = _add(c["bystander"], 0.3, 0.0, "bystander", "oak")
    if c["kind"] == "slope":  # beside the ramp, on a floor of its own
        bpy.ops.mesh.primitive_plane_add(size=2, location=(0, 6, 0))
        bystander.location.y = 6
    else:
        bystander.location.x = 2.5


def run_verdicts(seed: int) -> dict:
    import bpy

    from viga_addon.tools.physics import check_scene

    rows = []
    for c in cases(seed):
        build(c)
        t0 = time.perf_counter()
        report = check_scene(bpy.context.scene)
        thing = report["objects"]["thing"]
        rows.append(
            {
                **c,
                "ready": report["ready"],
                "verdict": thing["verdict"],
                "detail": thing["detail"],
                "moved_cm": round(thing["moved_m"] * 100, 2),
                "seconds": round(time.perf_counter() - t0, 3),
                "named": _named(c, thing),
            }
        )
    return {"seed": seed, "rows": rows, **_scores(rows)}


def _named(c: dict, thing: dict) -> bool:
    """The geometry found the offset within 2 mm (floats: the gap; sunk: the overlap)."""
    want = c["offset_cm"] / 100
    if c["kind"] == "floats":
        return thing["gap_m"] is not None and abs(thing["gap_m"] - want) <= 0.002
    if c["kind"] == "sunk":
        depths = [o["depth_m"] for o in thing["overlaps"] if o["other"] == "ground"]
        return bool(depths) and abs(max(depths) - want) <= 0.002
    return True


def _scores(rows: list[dict]) -> dict:
    tp = sum(r["truth_not_ready"] and not r["ready"] for r in rows)
    fp = sum(not r["truth_not_ready"] and not r["ready"] for r in rows)
    fn = sum(r["truth_not_ready"] and r["ready"] for r in rows)
    classes = {}
    for kind, ok in EXPECTED.items():
        mine = [r for r in rows if r["kind"] == kind]
        beyond = [r for r in mine if r["truth_not_ready"] or kind == "rests"]
        classes[kind] = {
            "scenes": len(mine),
            "beyond_tolerance": len(beyond),
            "verdict_right": sum(r["verdict"] in ok for r in beyond),
            "not_ready_found": sum(not r["ready"] for r in mine if r["truth_not_ready"]),
            "within_tolerance": len(mine) - len(beyond),
            "within_ready": sum(r["ready"] for r in mine if r not in beyond),
            "offset_named": sum(r["named"] for r in mine),
        }
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "classes": classes,
    }


def grid(count: int) -> None:
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    side = math.ceil(math.sqrt(count))
    bpy.ops.mesh.primitive_plane_add(size=side * 1.5 + 2, location=(side * 0.75, side * 0.75, 0))
    bpy.context.object.name = "ground"
    templates = [_add(s, 0.5, 0.0, f"template_{s}") for s in SHAPES]
    scene = bpy.context.scene
    for i in range(count - 1):
        obj = templates[i % 3].copy()  # shares the mesh: as fast to build as a real scene
        obj.name = f"part_{i:04d}"
        obj.location = (1 + (i % side) * 1.5, 1 + (i // side) * 1.5, 0.25)
        scene.collection.objects.link(obj)
    for t in templates:
        bpy.data.objects.remove(t)


def run_speed(sizes: list[int]) -> dict:
    import bpy

    from viga_addon.tools.physics import check_scene

    out = {}
    for n in sizes:
        grid(n)
        t0 = time.perf_counter()
        report = check_scene(bpy.context.scene)
        total = time.perf_counter() - t0
        out[str(n)] = {
            "objects": len(report["objects"]),
            "ready": report["ready"],
            "prepare_s": report["timing"]["prepare_s"],
            "per_frame_ms": report["timing"]["per_frame_ms"],
            "simulate_s": report["timing"]["simulate_s"],
            "total_s": round(total, 3),
        }
    return out


def markdown(res: dict) -> str:
    v, speed = res["verdicts"], res["speed"]
    c = v["classes"]
    lines = [
        common.table(
            ["measure", "result", "target"],
            [
                [
                    f"precision of 'not ready' ({v['tp']} found, {v['fp']} false alarms)",
                    f"**{v['precision']:.2f}**",
                    f"≥ 0.95: {'met' if v['precision'] >= 0.95 else '**not met**'}",
                ],
                [
                    f"recall of 'not ready' ({v['fn']} missed)",
                    f"**{v['recall']:.2f}**",
                    f"≥ 0.95: {'met' if v['recall'] >= 0.95 else '**not met**'}",
                ],
            ],
        ),
        "",
        common.table(
            [
                "class",
                "scenes",
                "beyond 1 cm: verdict right",
                "beyond 1 cm: not ready",
                "within 1 cm: ready",
                "offset measured (±2 mm)",
            ],
            [
                [
                    kind,
                    c[kind]["scenes"],
                    f"{c[kind]['verdict_right']}/{c[kind]['beyond_tolerance']}",
                    "—"
                    if kind == "rests"
                    else f"{c[kind]['not_ready_found']}/{c[kind]['beyond_tolerance']}",
                    f"{c[kind]['within_ready']}/{c[kind]['within_tolerance']}"
                    if c[kind]["within_tolerance"]
                    else "—",
                    f"{c[kind]['offset_named']}/{c[kind]['scenes']}"
                    if kind in ("floats", "sunk")
                    else "—",
                ]
                for kind in EXPECTED
            ],
        ),
        "",
        "Mistakes: "
        + (
            "; ".join(
                f"{r['kind']} {r['shape']} {r['offset_cm'] or r['slope_deg']:g} → "
                f"{r['verdict']} ({r['detail']})"
                for r in v["rows"]
                if (r["truth_not_ready"] == r["ready"])
                or (r["verdict"] not in EXPECTED[r["kind"]] and r["truth_not_ready"])
            )
            or "none"
        )
        + ".",
        "",
        common.table(
            [
                "objects",
                "prepare (geometry, roles, shapes, bodies)",
                "simulation per frame",
                "48 frames",
                "whole check",
            ],
            [
                [
                    n,
                    f"{s['prepare_s']:.2f} s",
                    f"{s['per_frame_ms']:.2f} ms",
                    f"{s['simulate_s']:.2f} s",
                    f"{s['total_s']:.2f} s",
                ]
                for n, s in speed.items()
            ],
        ),
    ]
    return "\n".join(lines)


def section(res: dict) -> str:
    import bpy

    n = len(res["verdicts"]["rows"])
    return "\n".join(
        [
            BEGIN,
            "## Physics: the settle check against ground truth, and its speed",
            "",
            f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} (2 cores, shared), "
            f"Blender {bpy.app.version_string} as the bpy module, CPU. {n} generated scenes "
            f"(seed {res['verdicts']['seed']}): a ground plane, one box, sphere or cylinder "
            "(0.2-1.0 m, turned at random, a random material) that rests (± 1 mm), "
            "floats 0.5-10 cm, is sunk 0.5-5 cm, or stands flush on a 20-35° slope, and a bystander "
            "resting elsewhere. 2 s at 24 fps each. Ground truth follows the check's definition "
            "of ready (no active object moves > 1 cm or turns > 2°): floating or sunk by 1 cm or "
            "less is within tolerance, so ready; the last column says whether the geometry "
            "measured the offset anyway (it is in the verdict's detail). Reproduce: "
            "`.venv/bin/python bench/physics_bench.py [--write]`.",
            "",
            markdown(res),
            "",
            END,
        ]
    )


def write_section(text: str, path: Path) -> None:
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        new = head + text + rest.split(END, 1)[1]
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(new)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", action="store_true", help="update BENCHMARKS.md in place")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--sizes", default="10,100,500", help="object counts for the speed part")
    args = ap.parse_args()
    res = {
        "verdicts": run_verdicts(args.seed),
        "speed": run_speed([int(s) for s in args.sizes.split(",")]),
    }
    text = section(res)
    print(text)
    if args.write:
        write_section(text, common.ROOT / "BENCHMARKS.md")
    print("RESULT " + json.dumps(res, default=str))


if __name__ == "__main__":
    main()
