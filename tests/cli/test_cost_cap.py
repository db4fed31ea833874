"""The cost cap, as a user meets it: ``reconstruct --max-cost`` stops before the request that
would pass it (exit 5, resumable), ``--resume RUN_DIR --max-cost HIGHER`` goes on with no
completed round redone; ``--estimate`` prints the estimate and exits. The real CLI and the
real anthropic SDK against the fake server, which answers from the demo script."""

import json
from pathlib import Path

import pytest
from fake_model_server import fake_server
from pipeline_helpers import CLI_TINY, cli_env, run_cli
from scripted_model import script_responder

from viga_addon.agent import spending
from viga_addon.agent.settings import Settings
from viga_addon.agent.state import RunState, StageState
from viga_addon.demo import tabletop

ROOT = Path(__file__).resolve().parents[2]
# each request costs about $0.075 at Sonnet 4.6 ($3 in, $15 out per million): little input (so
# the session's estimate from a request's size is above it, as with a real service), output
# as the run has seen it (the estimate's other half)
USAGE = {"input_tokens": 10, "output_tokens": 5_000}
PER_REQUEST = (10 * 3 + 5_000 * 15) / 1e6


def cli(*args, timeout=300):
    env = cli_env(ANTHROPIC_API_KEY="sk-ant-test-cap")
    return run_cli("reconstruct", *args, env=env, timeout=timeout)


def test_the_cap_stops_with_exit_5_and_a_higher_cap_resumes_without_redoing_a_round(tmp_path):
    seen: list[tuple] = []
    with fake_server() as server:
        server.respond_with(script_responder(usage=USAGE, seen=seen))
        common = ["--provider", "anthropic", "--base-url", server.url, *CLI_TINY]
        # geometry's round is 5 requests; the cap leaves room for one more, not for two
        cap = 6.5 * PER_REQUEST
        first = cli(
            str(tabletop.PHOTO),
            "--out",
            str(tmp_path / "runs"),
            "--model",
            "claude-sonnet-4-6",
            "--stages",
            "geometry,material",
            "--budget",
            "geometry=1,material=1",
            "--max-cost",
            str(cap),
            *common,
        )
        assert first.returncode == 5, first.stderr
        assert "stopped at the cost cap" in first.stderr and "--max-cost HIGHER" in first.stderr
        run_dir = next((tmp_path / "runs").iterdir())
        state = json.loads((run_dir / "state.json").read_text())
        assert state["status"] == "paused" and state["error_type"] == "CostCapReached"
        assert state["totals"]["cost_usd"] <= cap
        assert state["stages"]["geometry"]["status"] in ("approved", "budget_spent")
        done_before = list(seen)
        assert [s for s, _r, _n in done_before].count("geometry") == 5  # its round, complete
        assert done_before[-1][0] == "material"  # stopped inside material's round

        again = cli("--resume", str(run_dir), "--max-cost", "100", *common)
        assert again.returncode == 0, again.stderr
    resumed = seen[len(done_before) :]
    assert resumed and all(stage == "material" for stage, _r, _n in resumed)  # nothing redone
    state = json.loads((run_dir / "state.json").read_text())
    assert state["status"] == "done" and state["error_type"] is None
    assert [a["round"] for a in state["stages"]["geometry"]["attempts"]] == [1]
    # every request answered is paid for, those of the interrupted round included
    assert state["totals"]["requests"] == len(seen)
    assert state["totals"]["cost_usd"] == pytest.approx(len(seen) * PER_REQUEST)
    assert (run_dir / "final.blend").is_file()


def test_estimate_prints_a_range_with_the_model_and_exits(tmp_path):
    r = cli(str(tabletop.PHOTO), "--provider", "anthropic", "--estimate", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("about $") and "with claude-sonnet-4-6" in r.stdout
    assert not (tmp_path / "runs").exists() and not any(tmp_path.iterdir())


def test_the_estimate_grows_with_the_budgets_and_local_servers_are_free():
    small = spending.estimate_run(Settings(provider="anthropic", budgets={"geometry": 1}))
    large = spending.estimate_run(Settings(provider="anthropic", budgets={"geometry": 10}))
    assert 0 < small.low <= small.high < large.high
    opus = spending.estimate_run(Settings(provider="anthropic", model="claude-opus-4-7"))
    assert opus.high > small.high
    local = Settings(provider="openai", base_url="http://localhost:11434/v1", model="llava")
    assert spending.estimate_run(local).text() == "a local server (llava): free"
    demo = Settings(provider="scripted")
    assert spending.estimate_run(demo).text() == "the offline demo calls no model: free"
    unknown = spending.estimate_run(Settings(provider="openai", model="my-finetune"))
    assert "unknown price" in unknown.text()


def test_a_stage_cap_stops_before_its_stage_passes_it():
    settings = Settings(provider="anthropic", stage_max_cost={"material": 0.10})
    state = RunState(
        settings=settings,
        reference={},
        stage_order=["geometry", "material"],
        stages={"geometry": StageState(budget=1), "material": StageState(budget=1)},
    )
    request = {"system": "x" * 4000, "messages": [], "tools": []}  # ~1,000 tokens
    assert spending.cap_reached(state, "material", request) is None
    state.stages["material"].cost_usd = 0.097
    reason = spending.cap_reached(state, "material", request)
    assert reason and "the material stage has spent $0.10 of $0.10" in reason
    assert spending.cap_reached(state, "geometry", request) is None  # no cap on geometry
