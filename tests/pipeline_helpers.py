"""Shared set-up for pipeline tests: a real Blender host, tiny renders, a worker process, the
command line in a child process."""

import copy
import os
import subprocess
import sys
from pathlib import Path

import bpy

from viga_addon.agent.session import Session
from viga_addon.agent.worker import ModelWorker
from viga_addon.demo import tabletop
from viga_addon.tools.host import BlenderHost

ROOT = Path(__file__).resolve().parents[1]
MODEL_ENV = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL")

TINY = {
    "preview_size": 64,
    "preview_samples": 4,
    "final_size": 96,
    "final_samples": 8,
    "verify_size": 64,
    "render_device": "cpu",
    "rollouts": 2,  # the demo script's two rollouts (the default is 4; test_rollouts runs it)
}

CLI_TINY = [  # the same tiny renders, as command-line options
    "--preview-size",
    "48",
    "--preview-samples",
    "2",
    "--final-size",
    "64",
    "--final-samples",
    "4",
    "--verify-size",
    "48",
    "--render-device",
    "cpu",
    "--quiet",
]


def cli_env(**extra):
    """This environment without the model keys and base URL, the checkout on PYTHONPATH, and
    ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in MODEL_ENV}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def run_cli(*args, env=None, timeout=300):
    """``python -m viga_addon ARGS`` from the checkout (``cli_env()`` unless ``env``), its output
    captured."""
    return subprocess.run(
        [sys.executable, "-m", "viga_addon", *args],
        cwd=ROOT,
        env=env or cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def tiny_host():
    return BlenderHost(
        render_device="cpu",
        preview_size=TINY["preview_size"],
        preview_samples=TINY["preview_samples"],
    )


def demo_script():
    return copy.deepcopy(tabletop.SCRIPT)


def new_session(tmp_path, script=None, worker=None, **settings):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    worker = worker or ModelWorker("scripted", opts={"script": script or demo_script()})
    session = Session.create(
        tabletop.PHOTO, tmp_path / "runs", tiny_host(), worker, {**TINY, **settings}
    )
    return session, worker


def flatten_script(script, stages, budgets=None):
    """The replies of a scripted run in the order the session asks for them (for the FIFO fake
    server behind the real SDKs). Assumes every round of the script is played in full."""
    from viga_addon.stages import build_stages

    replies = []
    budgets = {"init": TINY["rollouts"], **(budgets or {})}
    if "init" not in (stages or ["init"]):
        budgets.pop("init")
    for stage in build_stages(stages, budgets):
        entry = script[stage.name]
        rounds = max(len(entry["generator"]), 1)
        rounds = stage.budget if stage.rollouts else rounds
        for n in range(rounds):
            for role in ("generator", "verifier"):
                turns = entry[role][min(n, len(entry[role]) - 1)]
                replies.extend(copy.deepcopy(turns))
                if (
                    role == "verifier"
                    and not stage.rollouts
                    and turns[-1]["tool_calls"][0]["arguments"].get("approved")
                ):
                    return_after = True
                else:
                    return_after = False
            if return_after:
                break
        if stage.rollouts and rounds > 1:  # the selector compares the rollouts
            replies.extend(copy.deepcopy(entry["selector"][0]))
    return replies


def drive(work):
    """The result of a phase's or a tool's generator, advanced to its end (a tool handler that
    never waits returns its result directly)."""
    if not hasattr(work, "send"):
        return work
    try:
        while True:
            next(work)
    except StopIteration as done:
        return done.value
