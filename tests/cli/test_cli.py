"""The headless CLI as a user runs it: a subprocess of ``python -m viga_addon``."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pipeline_helpers import CLI_TINY as TINY
from pipeline_helpers import cli_env as _env
from pipeline_helpers import run_cli as cli

ROOT = Path(__file__).resolve().parents[2]


def test_help_documents_consent_and_exit_codes():
    r = cli("reconstruct", "--help")
    assert r.returncode == 0
    assert "consent" in r.stdout and "exit codes" in r.stdout and "--provider scripted" in r.stdout


def test_no_key_explains_how_to_set_one_and_the_demo(tmp_path):
    r = cli("reconstruct", str(ROOT / "viga_addon/demo/tabletop.png"), "--out", str(tmp_path))
    assert r.returncode == 3
    assert "ANTHROPIC_API_KEY" in r.stderr and "--provider scripted" in r.stderr
    assert not any(tmp_path.iterdir())  # nothing half-made


@pytest.mark.parametrize(
    "make, expect",
    [
        (lambda p: p / "missing.png", "photo not found"),
        (
            lambda p: (p / "notes.png").write_text("not an image") and p / "notes.png",
            "not an image",
        ),
        (lambda p: p, "folder"),
    ],
)
def test_bad_photo_is_a_clear_error(tmp_path, make, expect):
    photo = make(tmp_path)
    r = cli("reconstruct", str(photo), "--provider", "scripted", "--out", str(tmp_path / "runs"))
    assert r.returncode == 2, r.stderr
    assert expect in r.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.parametrize(
    "args, expect",
    [
        (["--stages", "init,texture"], "unknown stage"),
        (["--budget", "geometry=x"], "--budget expects"),
        (["--budget", "geometry=0"], "at least 1"),
        (["--rollouts", "0"], "at least 1"),
        (["--thinking", "10"], "thinking budget"),  # the bounds of agent/settings.py
        (["--stop-after", "texture"], "unknown stage 'texture'"),
    ],
)
def test_bad_options_are_clear_errors(tmp_path, args, expect):
    r = cli("reconstruct", "--provider", "scripted", "--out", str(tmp_path), *args)
    assert r.returncode == 2, r.stderr
    assert expect in r.stderr


def test_resume_of_a_folder_without_a_run(tmp_path):
    r = cli("reconstruct", "--resume", str(tmp_path))
    assert r.returncode == 2 and "state.json" in r.stderr


def test_stop_after_then_resume_finishes(tmp_path):
    r = cli(
        "reconstruct",
        "--provider",
        "scripted",
        "--out",
        str(tmp_path),
        "--stages",
        "init,geometry,material",
        "--stop-after",
        "geometry",
        *TINY,
    )
    assert r.returncode == 0, r.stderr
    assert "scripted" in r.stderr and "no model is called" in r.stderr
    run_dir = next(tmp_path.iterdir())
    state = json.loads((run_dir / "state.json").read_text())
    assert state["status"] == "paused" and state["stages"]["material"]["status"] == "waiting"
    r = cli("reconstruct", "--resume", str(run_dir), *TINY)
    assert r.returncode == 0, r.stderr
    state = json.loads((run_dir / "state.json").read_text())
    assert state["status"] == "done" and (run_dir / "final.blend").exists()
    assert "Saved copy as" not in r.stderr  # Blender's own chatter does not reach the user


def test_killed_run_resumes_without_losing_completed_rounds(tmp_path):
    """Kill the process after the geometry stage's first round, then resume."""
    args = [
        "reconstruct",
        "--provider",
        "scripted",
        "--out",
        str(tmp_path),
        "--stages",
        "init,geometry,material",
        *TINY,
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "viga_addon", *args],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 240
    verdict = None
    while time.time() < deadline and proc.poll() is None:
        found = list(tmp_path.glob("*/stages/geometry/round_1/verdict.json"))
        if found:
            verdict = found[0]
            break
        time.sleep(0.05)
    assert verdict is not None, "the run never reached geometry round 1"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run_dir = verdict.parents[3]
    init_verdicts = {p: p.read_bytes() for p in run_dir.glob("stages/init/round_*/verdict.json")}
    geo1 = verdict.read_bytes()
    r = cli("reconstruct", "--resume", str(run_dir), *TINY)
    assert r.returncode == 0, r.stderr
    state = json.loads((run_dir / "state.json").read_text())
    assert state["status"] == "done"
    # nothing completed was redone: the finished rounds' verdicts are byte-identical
    assert {p: p.read_bytes() for p in init_verdicts} == init_verdicts
    assert verdict.read_bytes() == geo1
    kinds = [
        json.loads(line)["kind"]
        for line in (run_dir / "events.jsonl").read_text().splitlines()
        if line.strip()
    ]
    assert "resumed" in kinds and kinds[-1] == "done"
    assert [a["round"] for a in state["stages"]["geometry"]["attempts"]] == [1, 2]


def test_runs_as_a_script_the_way_blender_runs_it(tmp_path):
    """`blender -b --python viga_addon/__main__.py -- reconstruct …`: __main__.py is run by path, from
    another folder, with its arguments after `--`."""
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "viga_addon" / "__main__.py"),
            "--",
            "reconstruct",
            "--provider",
            "scripted",
            "--out",
            str(tmp_path),
            "--stages",
            "init",
            "--budget",
            "init=1",
            *TINY,
        ],
        cwd=tmp_path,
        env=_env(PYTHONPATH=""),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    run_dir = Path(r.stdout.strip())
    assert run_dir.parent == tmp_path and (run_dir / "final.blend").exists()


def test_a_remote_base_url_without_a_key_is_refused_before_anything_starts(tmp_path):
    r = cli(
        "reconstruct",
        str(ROOT / "viga_addon/demo/tabletop.png"),
        "--provider",
        "openai",
        "--base-url",
        "https://models.example.com/v1",
        "--out",
        str(tmp_path),
    )
    assert r.returncode == 3, r.stderr
    assert "not a local server" in r.stderr and "OPENAI_API_KEY" in r.stderr
    assert "Traceback" not in r.stderr and not any(tmp_path.iterdir())


def test_progress_is_one_updating_line_on_a_terminal_and_lines_elsewhere():
    import io

    from viga_addon.agent.progress import progress_of
    from viga_addon.agent.session import StepKind, StepResult
    from viga_addon.agent.settings import Settings
    from viga_addon.agent.state import RunState, StageState
    from viga_addon.cli.progress import ProgressReporter

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    state = RunState(Settings(), {}, ["init"], {"init": StageState(budget=2)})
    p = progress_of(state)
    steps = [
        StepResult(StepKind.REQUEST, "init generator: asking the model"),
        StepResult(StepKind.WAITING, "waiting for the model"),
        StepResult(StepKind.RESPONSE, "init generator: model called make_plan"),
        StepResult(StepKind.STAGE_ENDED, "Initialization: approved, kept round 1"),
        StepResult(StepKind.ROUND_STARTED, "geometry round 1/5: generator"),
    ]
    tty, pipe = Terminal(), io.StringIO()
    for out in (tty, pipe):
        reporter = ProgressReporter(out)
        for step in steps:
            reporter.report(step, p)
        reporter.close()
    assert pipe.getvalue().count("\n") == 4 and "\r" not in pipe.getvalue()  # waits are silent
    lines = tty.getvalue().split("\n")
    assert len(lines) == 3 and lines[-1] == ""  # the stage's end stands; the last line closed
    assert lines[0].count("\r\x1b[K") == 3 and "approved, kept round 1" in lines[0]
    assert "[scripted demo]" in lines[0]  # the offline demo says so on every line
