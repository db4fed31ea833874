"""The model worker process: non-blocking submit/poll, instant cancel, crash reporting."""

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.fake_model_server import fake_server
from viga_addon.agent import messages as m
from viga_addon.agent import worker as worker_module
from viga_addon.agent.errors import (
    AuthError,
    ConfigError,
    Disposition,
    ProviderError,
    RateLimited,
    VigaError,
    WorkerError,
)
from viga_addon.agent.worker import ModelWorker, WorkerReply

KEY = "sk-worker-SECRET-abcdefghijklmnop"
AGENT_DIR = Path(__file__).resolve().parents[2] / "viga_addon" / "agent"
CALL = {"name": "execute_code", "arguments": {"code": "print('hi')"}}
SCRIPT = {
    "*": {
        "generator": [
            [{"text": "scripted", "tool_calls": [{"name": "end_round", "arguments": {}}]}]
        ],
        "verifier": [[{"fault": "crash"}]],
    },
    "lighting": {"generator": [[{"fault": "rate_limit"}]]},
}


def request(photo=None, stage="geometry", role="generator"):
    parts = [m.text("Rebuild the photo.")] + ([m.image(photo)] if photo else [])
    return {
        "system": "Stage: geometry — Generator",
        "messages": [m.user(*parts)],
        "tools": [m.tool("execute_code", "Run code.", {"code": {"type": "string"}}, ["code"])],
        "max_tokens": 256,
        "meta": {"stage": stage, "role": role, "round": 1, "turn": 0},
    }


def wait_result(worker, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = worker.poll()
        if result is not None:
            return result
        time.sleep(0.005)
    raise AssertionError(f"no result within {timeout} s; stderr: {worker.stderr_tail()}")


@pytest.fixture
def server():
    with fake_server() as s:
        yield s


@pytest.fixture
def photo(tmp_path):
    from PIL import Image

    path = tmp_path / "photo.png"
    Image.new("RGB", (64, 48), (120, 60, 30)).save(path)
    return str(path)


@pytest.mark.smoke
def test_submit_and_poll_through_worker_with_nonblocking_poll(server, photo):
    server.queue({"fault": "slow", "delay": 0.8, "tool_calls": [CALL]})
    with ModelWorker(
        "anthropic", "claude-sonnet-4-6", KEY, server.url, {"base_delay": 0.001}
    ) as worker:
        start = time.perf_counter()
        request_id = worker.submit(request(photo))
        assert time.perf_counter() - start < 0.5  # starting the child does not wait for it
        assert worker.busy
        worst, polls, result = 0.0, 0, None
        while result is None:
            t0 = time.perf_counter()
            result = worker.poll()
            worst = max(worst, time.perf_counter() - t0)
            polls += 1
            time.sleep(0.002)
        assert polls > 50  # the request was really pending while we measured
        # a poll that waited would take most of the 0.8 s reply; 50 ms leaves room for a loaded box
        assert worst < 0.05, f"poll() took {worst * 1000:.2f} ms"
        assert isinstance(result, WorkerReply)
        assert result.id == request_id and result.ok is True, result
        assert result.error is None and result.error_type is None
        response = result.response
        assert response["tool_calls"][0]["arguments"] == CALL["arguments"]
        assert response["usage"]["images"] == 1
        assert response["cost_usd"] > 0
        assert not worker.busy and worker.poll() is None
        body = server.requests[-1]["body"]
        assert body["messages"][0]["content"][1]["type"] == "image"


@pytest.mark.smoke
def test_provider_errors_cross_the_process_boundary(server):
    server.queue({"fault": "429"}, {"fault": "429"}, {"fault": "401"})
    with ModelWorker(
        "openai", "gpt-4o", KEY, server.url + "/v1", {"base_delay": 0.001, "max_retries": 1}
    ) as worker:
        worker.submit(request())
        result = wait_result(worker)
        assert result.ok is False and result.error_type == "RateLimited"
        assert isinstance(result.error, RateLimited) and result.response is None
        assert result.error.disposition is Disposition.RETRY
        assert "rate limit" in worker.last_notice.lower()  # retry notices reach the parent
        worker.submit(request())
        result = wait_result(worker)
        assert isinstance(result.error, AuthError) and "OPENAI_API_KEY" in str(result.error)
        assert result.error.disposition is Disposition.FATAL and result.error.exit_code == 3
        assert KEY not in str(result.error) and KEY[:8] not in str(result.error)
        assert KEY not in worker.stderr_tail()


def test_cancel_mid_request_is_prompt_and_next_submit_starts_fresh(server):
    server.queue({"fault": "slow", "delay": 5.0, "tool_calls": [CALL]}, {"tool_calls": [CALL]})
    worker = ModelWorker("anthropic", None, KEY, server.url, {"base_delay": 0.001})
    try:
        worker.start()  # pre-warm: the submit below reuses this child
        warm_pid = worker._proc.pid
        worker.submit(request())
        assert worker._proc.pid == warm_pid
        time.sleep(1.5)  # the child is up and waiting on the slow reply
        first_pid = worker._proc.pid
        start = time.perf_counter()
        worker.cancel()
        assert time.perf_counter() - start < 0.5
        assert worker.poll() is None and not worker.busy
        if os.name != "nt":
            with pytest.raises(ProcessLookupError):
                os.kill(first_pid, 0)  # the child is gone, not left running
        worker.submit(request())
        assert worker._proc.pid != first_pid
        result = wait_result(worker)
        assert result.ok is True, result
    finally:
        worker.close()


@pytest.mark.smoke
def test_child_crash_is_reported_not_hung():
    with ModelWorker("scripted", opts={"script": SCRIPT}) as worker:
        worker.submit(request())
        assert wait_result(worker).response["text"] == "scripted"
        worker.submit(request(role="verifier"))  # scripted "crash": the child exits at once
        result = wait_result(worker, timeout=10)
        assert result.ok is False and isinstance(result.error, WorkerError)
        # the worker dying is not the provider's fault, and the run pauses on it
        assert not isinstance(result.error, ProviderError)
        assert result.error.disposition is Disposition.PAUSE and result.error.exit_code == 4
        assert "exit code 70" in str(result.error)
        worker.submit(request())  # and the worker recovers with a fresh child
        assert wait_result(worker).ok is True


def test_killed_child_is_reported(server):
    server.queue({"fault": "slow", "delay": 5.0, "tool_calls": [CALL]})
    with ModelWorker("anthropic", None, KEY, server.url) as worker:
        worker.submit(request())
        time.sleep(0.5)
        worker._proc.kill()  # e.g. the OS killed it
        result = wait_result(worker, timeout=5)
        assert result.error_type == "WorkerError" and "stopped unexpectedly" in str(result.error)


@pytest.mark.smoke
def test_a_worker_that_cannot_start_answers_with_a_worker_error(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("no such interpreter")

    monkeypatch.setattr(worker_module.subprocess, "Popen", refuse)
    worker = ModelWorker("scripted", opts={"script": SCRIPT})
    request_id = worker.submit(request())  # does not raise: the reply says what happened
    reply = worker.poll()
    assert reply is not None and reply.id == request_id and not reply.ok
    assert isinstance(reply.error, WorkerError) and isinstance(reply.error, VigaError)
    assert "Could not start the model worker" in str(reply.error)
    assert reply.error.disposition.pauses
    assert not worker.busy and worker.poll() is None


@pytest.mark.smoke
def test_missing_key_and_unknown_provider_fail_before_any_process(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(AuthError, match="ANTHROPIC_API_KEY"):
        ModelWorker("anthropic")
    with pytest.raises(ConfigError):
        ModelWorker("bard")


@pytest.mark.smoke
def test_setup_errors_in_child_are_reported_per_request():
    with ModelWorker("scripted", opts={"script": "/nonexistent/script.json"}) as worker:
        worker.submit(request())
        result = wait_result(worker)
        assert isinstance(result.error, ConfigError) and "script" in str(result.error)
        worker.submit(request(stage="lighting"))
        assert wait_result(worker).error_type == "ConfigError"


def test_an_sdk_that_cannot_set_up_says_why(monkeypatch):
    """An environment the SDK trips on (SSL_CERT_FILE naming no file) fails the request with
    the SDK's reason and the variable, not with a crash of the worker."""
    monkeypatch.setenv("SSL_CERT_FILE", "/no/such/ca-bundle.pem")
    with ModelWorker("anthropic", api_key="sk-test", base_url="http://127.0.0.1:9") as worker:
        worker.submit(request())
        result = wait_result(worker)
    assert result.error_type == "ConfigError", result.error
    text = str(result.error)
    assert "Could not set up the anthropic client" in text
    assert "SSL_CERT_FILE is set to /no/such/ca-bundle.pem" in text


def test_worker_runs_when_the_addon_package_has_another_name(tmp_path):
    """Inside Blender the add-on is bl_ext.user_default.viga_addon and `viga_addon` is not
    importable; the child must still start (it loads agent/ by file path)."""
    root = tmp_path / "ext"
    package = root / "bl_ext" / "user_default" / "viga_addon"
    skip = shutil.ignore_patterns("__pycache__")
    shutil.copytree(AGENT_DIR, package / "agent", ignore=skip)
    shutil.copytree(AGENT_DIR.parent / "common", package / "common", ignore=skip)
    for folder in (root / "bl_ext", root / "bl_ext" / "user_default"):
        (folder / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    driver = textwrap.dedent(
        f"""
        import importlib.util, json, sys, time
        sys.path.insert(0, {str(root)!r})
        assert importlib.util.find_spec("viga_addon") is None
        from bl_ext.user_default.viga_addon.agent.worker import ModelWorker
        worker = ModelWorker("scripted", opts={{"script": {SCRIPT!r}}})
        worker.submit({request()!r})
        deadline = time.time() + 30
        result = None
        while result is None and time.time() < deadline:
            result = worker.poll()
            time.sleep(0.01)
        worker.close()
        print(json.dumps({{"ok": result.ok, "text": result.response["text"]}}))
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-c", driver],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert '"ok": true' in out.stdout and '"scripted"' in out.stdout


def test_ending_a_child_without_waiting_returns_at_once_and_still_ends_it():
    """The panel ends a run's processes on Blender's main thread: it must not wait for their
    exit (a real window froze until they had gone); the child still goes, and is killed if
    it outstays its grace."""
    import threading

    from viga_addon.common.pipes import end_process

    slow = "import sys, time; sys.stdin.read(); time.sleep(0.8)"
    stuck = "import time; time.sleep(60)"
    for code, grace in ((slow, 5.0), (stuck, 0.3)):
        proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE)
        proc.stdin.close()
        gone = threading.Event()
        t0 = time.monotonic()
        end_process(proc, grace=grace, wait=False, after=gone.set)
        assert time.monotonic() - t0 < 0.2
        assert gone.wait(10) and proc.poll() is not None
    proc = subprocess.Popen([sys.executable, "-c", slow], stdin=subprocess.PIPE)
    proc.stdin.close()
    t0 = time.monotonic()
    end_process(proc, grace=5.0)
    assert time.monotonic() - t0 >= 0.7 and proc.poll() == 0
