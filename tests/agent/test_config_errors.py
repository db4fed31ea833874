"""What "done" means, and configuration errors that stop a run at once.

A run is done when every stage ended approved or with its budget spent, with at least one
successful attempt. A server that refuses every request (HTTP 400) fails the run on its first
request, with the server's own words, never a run of failed rounds ending "done"."""

import json
import os
import subprocess
import sys
from pathlib import Path

from fake_model_server import fake_server
from pipeline_helpers import CLI_TINY, new_session, tiny_host
from scripted_model import script_responder

from viga_addon.agent.session import Session
from viga_addon.agent.state import RunStatus
from viga_addon.agent.worker import ModelWorker
from viga_addon.cli.reconstruct import _exit_code
from viga_addon.demo import tabletop

ROOT = Path(__file__).resolve().parents[2]


def _worker(server):
    return ModelWorker(
        "openai",
        model="gpt-4o",
        api_key="k",
        base_url=server.url + "/v1",
        opts={"base_delay": 0.01, "max_retries": 1},
    )


def test_a_server_answering_400_to_everything_fails_the_run_at_once(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    env["PYTHONPATH"] = str(ROOT)
    with fake_server() as server:
        server.reject_all = "model 'qwen2.5vl:7b-typo' not found, try pulling it first"
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "viga_addon",
                "reconstruct",
                str(tabletop.PHOTO),
                "--provider",
                "openai",
                "--base-url",
                server.url + "/v1",
                "--model",
                "qwen-typo",
                "--out",
                str(tmp_path / "runs"),
                *CLI_TINY,
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        asked = len(server.preflights) + len(server.requests)
    assert r.returncode == 2, r.stderr
    assert "qwen2.5vl:7b-typo' not found" in r.stderr  # the server's own message
    assert f"The server at {server.url}/v1 refused the request (HTTP 400)" in r.stderr
    assert "OpenAI" not in r.stderr.split("run folder:")[-1]
    assert asked == 1  # the preflight; no round was tried
    run_dir = next((tmp_path / "runs").iterdir())
    state = json.loads((run_dir / "state.json").read_text())
    assert state["status"] == "failed" and state["error_type"] == "RequestRefused"
    assert all(not s["attempts"] for s in state["stages"].values())


def test_a_run_whose_every_round_failed_is_not_done_and_resumes_the_stage(tmp_path):
    with fake_server() as server:
        server.respond_with(lambda wire, body: {"fault": "no_tool", "text": "I cannot."})
        worker = _worker(server)
        session, worker = new_session(
            tmp_path,
            worker=worker,
            provider="openai",
            stages=["geometry"],
            budgets={"geometry": 2},
        )
        try:
            status = session.run_to_end()
        finally:
            worker.close()
        assert status is RunStatus.FAILED, session.state.message
        assert "every attempt failed (2 of 2" in session.state.message
        assert session.state.stages["geometry"].status == "failed"
        assert _exit_code(status, session.state.error_type) == 1
        assert not (session.run_dir / "final.blend").exists()
        report = (session.run_dir / "report.html").read_text()
        assert "every attempt failed" in report

        # the cause fixed (a model that calls tools), resume runs the stage again
        server.respond_with(script_responder())
        worker = _worker(server)
        resumed = Session.resume(session.run_dir, tiny_host(), worker)
        try:
            status = resumed.run_to_end()
        finally:
            worker.close()
    assert status is RunStatus.DONE, resumed.state.message
    attempts = resumed.state.stages["geometry"].attempts
    assert attempts and attempts[0].round == 1 and not attempts[0].failed
    assert (resumed.run_dir / "final.blend").is_file()
