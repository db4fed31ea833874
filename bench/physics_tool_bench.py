"""What the settle check costs inside a run and in the panel, on the demo's scene.

Inside a run (tools/host.py's ``check_physics``): the final scene's check (no pictures), and the
composition stage's tool (frames 0 and 48 rendered at the preview size, 256 px, 16 samples),
each in the render process (warm: it has rendered once) and in-process (the fallback). Given:
the time Blender's main thread is held (writing the scene before, the result after) and the time
to the result. In the panel (ui/operators/physics.py's Check Physics, with the add-on enabled):
the invoke on the main thread and the time to the result, with a new render process (the first
Check of a session) and a warm one.

    .venv/bin/python bench/physics_tool_bench.py

Prints a Markdown table and, last, a line ``RESULT {json}``.
"""

from __future__ import annotations

import json
import platform
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import common  # noqa: E402

REPEAT = 5


def _host_case(host, out: Path, pictures: bool) -> dict:
    held, total = [], []
    for k in range(REPEAT):
        args = {"out_dir": str(out / f"{pictures}_{k}"), "pictures": pictures}
        t0 = time.perf_counter()
        result = host.start("check_physics", args)
        main = time.perf_counter() - t0
        if result.get("pending"):
            while True:
                t1 = time.perf_counter()
                done = host.poll(result["pending"])
                if done is not None:
                    main += time.perf_counter() - t1
                    result = done
                    break
                time.sleep(0.002)
        total.append(time.perf_counter() - t0)
        held.append(main)
        assert result.get("ok"), result
    return {"main_ms": common.median(held) * 1000, "total_ms": common.median(total) * 1000}


def run_host(tmp: Path) -> dict:
    import bpy

    from viga_addon.demo import tabletop_edit
    from viga_addon.tools.host import BlenderHost

    out = {}
    for process in (True, False):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        tabletop_edit.build_scene(perturb=False)
        host = BlenderHost(render_device="cpu", render_process=process)
        try:
            host.call("render", {"path": str(tmp / "warm.png"), "long_side": 32, "samples": 1})
            if process:  # the first render only starts it: wait for the process to be warm
                warm = host.start("render", {"path": str(tmp / "w.png"), "long_side": 32})
                while host.poll(warm["pending"]) is None:
                    time.sleep(0.01)
            for pictures in (False, True):
                where = "render process" if process else "in-process"
                out[f"{where}, {'frames 0 and 48' if pictures else 'no pictures'}"] = _host_case(
                    host, tmp / where, pictures
                )
        finally:
            host.close()
    return out


def run_panel() -> dict:
    import addon_utils
    import bpy

    from viga_addon.demo import tabletop_edit
    from viga_addon.ui.operators import physics as physics_op
    from viga_addon.ui.operators import refine as refine_op

    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable("viga_addon", default_set=True)
    tabletop_edit.build_scene(perturb=False)
    cls = physics_op.VIGA_OT_check_physics

    class Operator:  # the operator's methods on a plain object (bpy would need a window)
        invoke, modal, _end = cls.invoke, cls.modal, cls._end

        def report(self, *_args):
            pass

    op = Operator()
    out = {}
    try:
        for label in ("new render process", "warm render process"):
            wm = types.SimpleNamespace(
                event_timer_add=lambda *a, **k: object(),
                event_timer_remove=lambda *a: None,
                modal_handler_add=lambda *a: True,
            )
            context = types.SimpleNamespace(
                scene=bpy.context.scene, window=object(), window_manager=wm, screen=None
            )
            t0 = time.perf_counter()
            assert op.invoke(context, types.SimpleNamespace(type="NONE")) == {"RUNNING_MODAL"}
            invoke = time.perf_counter() - t0
            timer = types.SimpleNamespace(type="TIMER", value="NOTHING")
            ticks = []
            while True:
                t1 = time.perf_counter()
                outcome = op.modal(context, timer)
                ticks.append(time.perf_counter() - t1)
                if outcome != {"RUNNING_MODAL"}:
                    break
                time.sleep(0.01)
            out[label] = {
                "invoke_ms": invoke * 1000,
                "longest_tick_ms": max(ticks) * 1000,
                "total_ms": (time.perf_counter() - t0) * 1000,
                "summary": physics_op.result_for(bpy.context.scene)["summary"],
            }
    finally:
        refine_op.shutdown()
        addon_utils.disable("viga_addon")
    return out


def main() -> None:
    import bpy

    with tempfile.TemporaryDirectory() as tmp:
        host = run_host(Path(tmp))
    panel = run_panel()
    print(
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, Blender "
        f"{bpy.app.version_string}, CPU; the demo's scene (ground, ball, box, can), 2 s at 24 fps; "
        f"medians of {REPEAT}.\n"
    )
    rows = [[k, f"{v['main_ms']:.0f}", f"{v['total_ms']:.0f}"] for k, v in host.items()]
    print(common.table(["check_physics (host)", "main thread held, ms", "to result, ms"], rows))
    print()
    rows = [
        [k, f"{v['invoke_ms']:.0f}", f"{v['longest_tick_ms']:.1f}", f"{v['total_ms']:.0f}"]
        for k, v in panel.items()
    ]
    print(
        common.table(
            ["Check Physics (panel)", "invoke, ms", "longest timer tick, ms", "to result, ms"],
            rows,
        )
    )
    print("RESULT " + json.dumps({"host": host, "panel": panel}))


if __name__ == "__main__":
    main()
