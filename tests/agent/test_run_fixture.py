"""A run folder written by the code before the typed state (state.json version 1, absolute paths
of another machine) still reads, reports and resumes — from another place."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from viga_addon.agent.progress import read_progress
from viga_addon.agent.report import write_report
from viga_addon.agent.runstore import RunStore

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "run_v1_paused"


@pytest.fixture
def moved_run(tmp_path) -> Path:
    run = tmp_path / "elsewhere" / FIXTURE.name
    shutil.copytree(FIXTURE, run)
    return run


@pytest.mark.smoke
def test_a_version_1_run_folder_reads_as_typed_state(moved_run):
    raw = json.loads((moved_run / "state.json").read_text())
    assert raw["version"] == 1 and raw["stages"]["init"]["attempts"][0]["snapshot"].startswith("/")
    state = RunStore(moved_run).load_state()
    assert state.current_stage == "material" and state.status == "paused"
    init = state.stages["init"]
    assert [a.round for a in init.attempts] == [1, 2]
    for attempt in init.attempts + state.stages["geometry"].attempts:
        assert (moved_run / attempt.snapshot).is_file() and (moved_run / attempt.render).is_file()
    progress = read_progress(moved_run)
    assert progress.stage == "material" and progress.rounds == 4
    assert [row.word for row in progress.stages] == ["approved", "approved", "waiting"]
    report = write_report(moved_run).read_text()
    assert "Geometry" in report and "stopped after geometry" in report


def test_a_version_1_run_folder_resumes_to_done_from_another_place(moved_run):
    verdicts = {p: p.read_bytes() for p in moved_run.glob("stages/*/round_*/verdict.json")}
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL")
    }
    env["PYTHONPATH"] = str(ROOT)
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "viga_addon",
            "reconstruct",
            "--resume",
            str(moved_run),
            "--verify-size",
            "48",
            "--quiet",
        ],
        cwd=moved_run.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    state = json.loads((moved_run / "state.json").read_text())
    assert state["version"] == 2 and state["status"] == "done"
    assert state["stages"]["material"]["status"] in ("approved", "budget_spent")
    assert (moved_run / "final.blend").is_file() and (moved_run / "scene.py").is_file()
    # the rounds finished by the old code were kept as they were, not redone
    assert {p: p.read_bytes() for p in verdicts} == verdicts
    assert [a["round"] for a in state["stages"]["geometry"]["attempts"]] == [1, 2]
    # and nothing of the run points back at the place it was written
    assert "/tmp/fx/" not in (moved_run / "state.json").read_text()
