"""The render process's main loop (runs inside ``blender -b --factory-startup --python`` or
``sys.executable`` with the bpy module; started by ``client.RenderProcess``).

Protocol: one JSON job per stdin line; one reply per job on the original stdout as a line
``@viga {json}``. Before its reply a refinement sends a progress line after each render,
``@viga {"id": job id, "progress": {"renders", "budget", "phase", "loss", "best_loss", "psnr",
"ssim"}}`` (no ``ok``: it is not the reply). Blender's own output (render progress, warnings)
is sent to stderr, which the client keeps in a log: only ``@viga`` lines are read. A job names
the scene file to open (``blend``), which this process owns from then on; the reply adds
``load_seconds`` and ``seconds``. ``{"kind": "quit"}`` ends the loop. This process does not
read stdin while a job runs: a refinement is stopped through its ``stop_file`` (jobs.py).

The environment variable ``VIGA_RENDER_TEST_HOOKS=1`` (tests only) lets a job ask this process
to crash (``"test_crash": true``: SIGSEGV) or stall (``"test_sleep": seconds``).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback

REPLY_PREFIX = "@viga "


def main() -> None:
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # C-level chatter goes to the log

    def send(message: dict) -> None:
        protocol.write(REPLY_PREFIX + json.dumps(message, default=str) + "\n")
        protocol.flush()

    import bpy

    from . import jobs

    send({"ready": True, "pid": os.getpid(), "version": list(bpy.app.version)})
    hooks = os.environ.get("VIGA_RENDER_TEST_HOOKS") == "1"
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            job = json.loads(line)
        except json.JSONDecodeError:
            send({"ok": False, "error": "render process: a job line was not JSON"})
            continue
        if job.get("kind") == "quit":
            break
        if hooks and job.get("test_crash"):
            os.kill(os.getpid(), getattr(signal, "SIGSEGV", signal.SIGTERM))
        if hooks and job.get("test_sleep"):
            time.sleep(float(job["test_sleep"]))
        send({"id": job.get("id"), **_handle(bpy, jobs, job, send)})


def _handle(bpy, jobs, job: dict, send) -> dict:
    started = time.perf_counter()

    def report(info: dict) -> None:
        send({"id": job.get("id"), "progress": info})

    try:
        apply_device(bpy, job.get("device"))
        blend = job.get("blend")
        if blend:
            bpy.ops.wm.open_mainfile(filepath=blend, load_ui=False)
        loaded = time.perf_counter()
        reply = jobs.run_job(job, report)
    except Exception as exc:
        return {
            "ok": False,
            "error": f"render process: {type(exc).__name__}: {exc}",
            "detail": traceback.format_exc(limit=4),
        }
    reply["load_seconds"] = round(loaded - started, 4)
    reply["seconds"] = round(time.perf_counter() - started, 4)
    return reply


def apply_device(bpy, chosen: dict | None) -> None:
    """Make this process's Cycles preferences the artist's choice (its backend and devices), so
    every render here, the refiner's included, uses the device the artist's Blender picked."""
    if not chosen or not chosen.get("backend"):
        return
    addon = bpy.context.preferences.addons.get("cycles")
    if addon is None:
        return
    prefs = addon.preferences
    prefs.compute_device_type = chosen["backend"]
    prefs.refresh_devices()
    wanted = set(chosen.get("devices") or ())
    for dev in prefs.get_devices_for_type(chosen["backend"]):
        dev.use = dev.type != "CPU" and (not wanted or dev.name in wanted)


def boot() -> None:
    """Entry when this file runs as a script: import the add-on's package from its folder
    (whatever it is called: ``viga_addon``, or an extension's folder) and run ``main``."""
    import importlib

    here = os.path.dirname(os.path.abspath(__file__))
    addon_root = os.path.dirname(os.path.dirname(os.path.dirname(here)))  # tools/render/process
    sys.path.insert(0, os.path.dirname(addon_root))
    package = os.path.basename(addon_root)
    importlib.import_module(f"{package}.tools.render.process.worker").main()


if __name__ == "__main__":
    boot()
