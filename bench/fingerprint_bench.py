"""execute_code's "what changed" cost per call: today's one capture versus the two fingerprints
it replaced, side by side in one run, on scenes of N objects.

Per execute_code call the scene is read before and after the code. Before tools/fingerprint.py
that was ``execute.scene_fingerprint`` (the change report) twice plus, when a stage scope is
given (the agent always gives one), ``scope.capture`` twice; now it is ``fingerprint.capture``
twice and one ``fingerprint.diff`` for both. The old code is loaded from git at ``--baseline``
(default: the last commit with two fingerprints), so both run on the same scene in the same
process. Between the two reads the scene gets a typical change (5 moves, one object added and
one removed, a material recoloured) and the two change reports are checked to agree.

The scene: N objects (N-2 meshes with their own data, one of 20 materials each, a Bevel modifier
on every tenth), a sun, a camera, a world with a Background node.

    .venv/bin/python bench/fingerprint_bench.py [--sizes 100,1000] [--reps 5] [--baseline REV]

Prints a Markdown table and, last, a line ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import snapshot_scale_bench  # noqa: E402

BASELINE = "c5d1143"  # the last commit with execute.scene_fingerprint and scope.capture
KEYS = ("objects", "materials", "lights")


# ----------------------------------------------------------------------------- the old code
def _source(rev: str, path: str) -> str:
    try:
        return subprocess.run(
            ["git", "show", f"{rev}:{path}"],
            cwd=common.ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SystemExit(f"cannot read {path} at {rev} from git: {exc}") from exc


def _module(name: str, source: str, label: str) -> types.ModuleType:
    module = types.ModuleType(f"viga_addon.tools.{name}")
    module.__package__ = "viga_addon.tools"  # its relative imports find today's modules
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, label, "exec"), module.__dict__)
    return module


def baseline(rev: str) -> types.SimpleNamespace:
    """The old fingerprint functions: execute's fingerprint section, scope and the snapshot
    module whose ``rna_to_dict`` scope used."""
    old_snapshot = _module(
        "_old_snapshot", _source(rev, "viga_addon/tools/snapshot.py"), "old snapshot"
    )
    old_scope = _module("_old_scope", _source(rev, "viga_addon/tools/scope.py"), "old scope")
    old_scope.snapshot = old_snapshot
    text = _source(rev, "viga_addon/tools/execute.py")
    start = text.index("CHANGE_KEYS = ")
    end = text.index("def _namespace")
    section = "import bpy\nimport numpy as np\n" + text[start:end]
    old_execute = _module("_old_execute", section, "old execute fingerprints")
    return types.SimpleNamespace(
        fingerprint=old_execute.scene_fingerprint,
        diff=old_execute.diff_fingerprints,
        capture=old_scope.capture,
        changes=old_scope.changes,
    )


# ----------------------------------------------------------------------------- the scene
def build_scene(count: int) -> None:
    import bpy

    snapshot_scale_bench.build_scene(count)
    for i, obj in enumerate(o for o in bpy.context.scene.objects if o.type == "MESH"):
        if i % 10 == 0:
            obj.modifiers.new("Bevel", "BEVEL").width = 0.02
    world = bpy.data.worlds.new("studio")
    world.use_nodes = True
    bpy.context.scene.world = world


# ----------------------------------------------------------------------------- timing
def _settle(scene) -> None:
    """Evaluate the change (what the next render does anyway), outside the timings: a removed
    object makes the next depsgraph update a relations rebuild, in the old code as in the new."""
    for view_layer in scene.view_layers:
        view_layer.update()


def _old_call(old, scene, scoped: bool) -> tuple[float, dict]:
    t0 = time.perf_counter()
    before = old.fingerprint(scene)
    scope_before = old.capture(scene) if scoped else None
    seconds = time.perf_counter() - t0
    snapshot_scale_bench.change_scene()
    _settle(scene)
    t0 = time.perf_counter()
    if scoped:
        old.changes(scope_before, old.capture(scene))
    report = old.diff(before, old.fingerprint(scene))
    return seconds + time.perf_counter() - t0, report


def _new_call(scene) -> tuple[float, dict]:
    from viga_addon.tools.code import scope_check
    from viga_addon.tools.scene import fingerprint

    t0 = time.perf_counter()
    before = fingerprint.capture(scene)
    seconds = time.perf_counter() - t0
    snapshot_scale_bench.change_scene()
    _settle(scene)
    t0 = time.perf_counter()
    found = fingerprint.diff(before, fingerprint.capture(scene))
    scope_check.out_of_scope(scope_check.changes(found), ("materials",))
    return seconds + time.perf_counter() - t0, found.report


def measure(count: int, reps: int, old) -> dict:
    import bpy

    from viga_addon.tools.code.execute import execute_code

    build_scene(count)
    scene = bpy.context.scene
    _new_call(scene), _old_call(old, scene, True)  # warm caches and the depsgraph
    rows = {"old_scoped": [], "old_unscoped": [], "new": []}
    for _ in range(reps):  # interleaved, so both see the same scene and machine load
        seconds, old_report = _old_call(old, scene, True)
        rows["old_scoped"].append(seconds)
        rows["old_unscoped"].append(_old_call(old, scene, False)[0])
        seconds, new_report = _new_call(scene)
        rows["new"].append(seconds)
    rows = {k: common.median(v) for k, v in rows.items()}
    for kind in ("created", "changed", "removed"):
        for key in KEYS:
            if old_report[kind][key] != new_report[kind][key]:
                raise RuntimeError(
                    f"{count} objects: {kind} {key}: old {old_report[kind][key]} "
                    f"new {new_report[kind][key]}"
                )
    calls = []
    for _ in range(reps):
        result = execute_code(
            "bpy.data.objects['part_0001'].location.z += 0.1", scope=["transforms"]
        )
        assert result["ok"], result
        calls.append(result["seconds"])
    rows["execute_code"] = common.median(calls)
    rows["ratio_scoped"] = rows["new"] / rows["old_scoped"]
    rows["ratio_unscoped"] = rows["new"] / rows["old_unscoped"]
    return rows


def markdown(result: dict) -> str:
    ms = lambda v: f"{1000 * v:.1f} ms"  # noqa: E731
    rows = [
        [
            f"{int(n):,}",
            ms(r["old_scoped"]),
            ms(r["old_unscoped"]),
            ms(r["new"]),
            f"{r['ratio_scoped']:.2f}",
            f"{r['ratio_unscoped']:.2f}",
            ms(r["execute_code"]),
        ]
        for n, r in result["sizes"].items()
    ]
    return common.table(
        [
            "objects",
            "before: 2 fingerprints + 2 scope captures (with a scope)",
            "before: 2 fingerprints (no scope)",
            "now: 2 captures + 1 diff",
            "now / before (scope)",
            "now / before (no scope)",
            "a whole execute_code call now",
        ],
        rows,
    )


def main() -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100,1000")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--baseline", default=BASELINE)
    args = ap.parse_args()
    import bpy  # noqa: F401  (before the old modules, which import it)

    old = baseline(args.baseline)
    sizes = [int(s) for s in args.sizes.split(",")]
    result = {
        "sizes": {n: measure(n, args.reps, old) for n in sizes},
        "reps": args.reps,
        "baseline": args.baseline,
    }
    print(markdown(result))
    print("RESULT " + json.dumps(result))
    return result


if __name__ == "__main__":
    main()
