"""The artist's note (``--note TEXT``, the panel's Note field): every request of every stage,
generator, verifier and selector alike, carries it; run.json and state.json keep it; a run
resumed with ``--resume`` still sends it. The real CLI and the real anthropic SDK against the
fake server, which answers from the demo script."""

import json

import pytest
from fake_model_server import fake_server, system_text
from pipeline_helpers import CLI_TINY, cli_env, run_cli
from scripted_model import script_responder

from viga_addon.agent.session.base import ARTIST_NOTE
from viga_addon.agent.settings import NOTE_LIMIT, Settings, SettingsError
from viga_addon.demo import tabletop

NOTE = "The table is oak; leave the background out."


def recording(responder, systems):
    def respond(wire, body):
        systems.append(system_text(body))
        return responder(wire, body)

    return respond


def cli(*args):
    return run_cli("reconstruct", *args, env=cli_env(ANTHROPIC_API_KEY="sk-ant-test-note"))


def test_the_note_reaches_every_request_run_json_and_a_resumed_run(tmp_path):
    systems: list[str] = []
    seen: list[tuple] = []
    with fake_server() as server:
        server.respond_with(recording(script_responder(seen=seen), systems))
        common = ["--provider", "anthropic", "--base-url", server.url, *CLI_TINY]
        first = cli(
            str(tabletop.PHOTO),
            "--out",
            str(tmp_path / "runs"),
            "--rollouts",
            "1",
            "--stages",
            "init,geometry",
            "--budget",
            "geometry=1",
            "--stop-after",
            "init",
            "--note",
            NOTE,
            *common,
        )
        assert first.returncode == 0, first.stderr
        before = len(systems)
        run_dir = next((tmp_path / "runs").iterdir())
        again = cli("--resume", str(run_dir), *common)
        assert again.returncode == 0, again.stderr
    roles = {(stage, role) for stage, role, _n in seen}
    assert {("init", "generator"), ("init", "verifier"), ("geometry", "generator")} <= roles
    assert ("geometry", "verifier") in roles
    assert 0 < before < len(systems)  # requests before the pause and after the resume
    for system in systems:
        assert f"{ARTIST_NOTE}\n{NOTE}" in system, system[-300:]
    run_json = json.loads((run_dir / "run.json").read_text())
    assert run_json["settings"]["note"] == NOTE
    state = json.loads((run_dir / "state.json").read_text())
    assert state["settings"]["note"] == NOTE and state["status"] == "done"


def test_without_a_note_the_prompt_has_none_and_a_long_note_is_refused():
    assert Settings().note == ""
    with pytest.raises(SettingsError, match="at most"):
        Settings(note="x" * (NOTE_LIMIT + 1)).validate()
    too_long = run_cli("reconstruct", str(tabletop.PHOTO), "--note", "x" * (NOTE_LIMIT + 1))
    assert too_long.returncode == 2 and "note" in too_long.stderr
