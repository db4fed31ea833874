"""Round overhead: our in-process execute_code + preview render against the peer way.

The peer way (as VIGA-style tools do it): a fresh Python + bpy process per tool call that opens
the saved .blend, runs the code and renders 512x512 at 512 Cycles samples. We also run the peer
way at our preview settings, so the cost of the process alone (start, import bpy, open the file)
is visible apart from the heavier render. Same scene (the offline demo's final.blend), same code,
same render function, CPU, side by side in one run.

    .venv/bin/python bench/peer_overhead_bench.py [--reps 3] [--peer-heavy-reps 1]

Prints a Markdown table and, last, a line ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

TOOL_CODE = """
ball = bpy.data.objects["red_ball"]
ball.location.x += 0.01
mat = ball.active_material
mat.diffuse_color = (0.8, 0.1, 0.1, 1.0)
"""
PREVIEW = (256, 16)  # our default preview: long side px, Cycles samples (denoised)
PEER = (512, 512)

PEER_SCRIPT = """
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
import bpy
from viga_addon.tools.render.engine import render
t1 = time.perf_counter()
bpy.ops.wm.open_mainfile(filepath={blend!r})
t2 = time.perf_counter()
exec(compile({code!r}, "<tool call>", "exec"), {{"bpy": bpy}})
bpy.ops.wm.save_mainfile()
t3 = time.perf_counter()
r = render("preview", path={out!r}, long_side={size}, samples={samples}, device="cpu")
t4 = time.perf_counter()
print("PEER " + json.dumps({{"ok": r["ok"], "import": t1 - t0, "open": t2 - t1,
                             "execute": t3 - t2, "render": t4 - t3}}))
"""


def peer_call(blend: Path, out: Path, size: int, samples: int) -> dict:
    script = PEER_SCRIPT.format(
        root=str(common.ROOT),
        blend=str(blend),
        code=TOOL_CODE,
        out=str(out),
        size=size,
        samples=samples,
    )
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - t0
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("PEER ")), None)
    if r.returncode != 0 or line is None:
        raise RuntimeError(f"peer process failed: {r.stderr[-1500:]}")
    parts = json.loads(line[5:])
    if not parts["ok"]:
        raise RuntimeError("peer render failed")
    parts["wall"] = wall
    parts["process"] = wall - parts["open"] - parts["execute"] - parts["render"]
    return parts


def ours_call(host, out: Path, size: int, samples: int) -> dict:
    t0 = time.perf_counter()
    r = host.call("execute_code", {"code": TOOL_CODE})
    t1 = time.perf_counter()
    rr = host.call(
        "render",
        {
            "path": str(out),
            "preset": "preview",
            "long_side": size,
            "samples": samples,
            "device": "cpu",
        },
    )
    t2 = time.perf_counter()
    if not (r.get("ok") and rr.get("ok")):
        raise RuntimeError(f"our tool call failed: {r} {rr}")
    return {"execute": t1 - t0, "render": t2 - t1, "wall": t2 - t0}


def main() -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--peer-heavy-reps", type=int, default=1)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="viga-bench-"))
    blend = common.demo_final_blend(tmp)
    import bpy

    from viga_addon.tools.host import BlenderHost

    bpy.ops.wm.open_mainfile(filepath=str(blend))
    host = BlenderHost(render_device="cpu")
    host.call("render", {"path": str(tmp / "warm.png"), "long_side": 32, "samples": 1})
    peer_blend = tmp / "peer.blend"
    peer_blend.write_bytes(blend.read_bytes())
    ours = [ours_call(host, tmp / f"ours_{i}.png", *PREVIEW) for i in range(args.reps)]
    peer_equal = [
        peer_call(peer_blend, tmp / f"peer_eq_{i}.png", *PREVIEW) for i in range(args.reps)
    ]
    peer_heavy = [
        peer_call(peer_blend, tmp / f"peer_{i}.png", *PEER) for i in range(args.peer_heavy_reps)
    ]

    def med(runs, key):
        return common.median([r[key] for r in runs])

    result = {
        "ours_wall": med(ours, "wall"),
        "ours_execute": med(ours, "execute"),
        "ours_render": med(ours, "render"),
        "peer_equal_wall": med(peer_equal, "wall"),
        "peer_equal_process": med(peer_equal, "process"),
        "peer_equal_open": med(peer_equal, "open"),
        "peer_equal_render": med(peer_equal, "render"),
        "peer_heavy_wall": med(peer_heavy, "wall"),
        "peer_heavy_render": med(peer_heavy, "render"),
        "peer_heavy_process": med(peer_heavy, "process"),
        "peer_heavy_open": med(peer_heavy, "open"),
        "reps": args.reps,
        "peer_heavy_reps": args.peer_heavy_reps,
    }
    result["ratio_heavy"] = result["peer_heavy_wall"] / result["ours_wall"]
    result["ratio_equal"] = result["peer_equal_wall"] / result["ours_wall"]
    result["overhead_ours"] = result["ours_wall"] - result["ours_render"]
    result["overhead_peer_equal"] = result["peer_equal_wall"] - result["peer_equal_render"]
    print(markdown(result))
    print("RESULT " + json.dumps(result))
    return result


def markdown(r: dict) -> str:
    s = lambda v: f"{v:.2f} s"  # noqa: E731
    rows = [
        [
            "ours: in-process execute_code + preview render (256 px, 16 spp)",
            s(r["ours_wall"]),
            s(r["ours_render"]),
            s(r["overhead_ours"]),
            "1.0×",
        ],
        [
            "peer, equal render settings (256 px, 16 spp): new process, open .blend, run, save, "
            "render",
            s(r["peer_equal_wall"]),
            s(r["peer_equal_render"]),
            s(r["overhead_peer_equal"]),
            f"{r['ratio_equal']:.1f}×",
        ],
        [
            "peer as published (512×512, 512 spp)",
            s(r["peer_heavy_wall"]),
            s(r["peer_heavy_render"]),
            s(r["peer_heavy_wall"] - r["peer_heavy_render"]),
            f"{r['ratio_heavy']:.1f}×",
        ],
    ]
    return common.table(
        ["one tool call + render", "wall (median)", "render", "everything else", "vs ours"], rows
    )


if __name__ == "__main__":
    main()
