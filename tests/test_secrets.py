"""Secrets: a marker API key never lands in any file a run writes (run folder, .blend files,
logs, reports, temporary files, the process's home), in the CLI's output or error messages,
nor in what model code can print back."""

import json
import os
from pathlib import Path

import pytest
from fake_model_server import fake_server
from pipeline_helpers import CLI_TINY as TINY
from pipeline_helpers import demo_script, flatten_script, run_cli

ROOT = Path(__file__).resolve().parents[1]
MARKER = "sk-MARKER-secret-5e3c1a9b7d2f4e6a8c0b"


def _pieces(secret):
    """The key and every 8-character slice of it (services echo keys partially)."""
    return [secret.encode()] + [
        secret[i : i + 8].encode()
        for i in range(len(secret) - 7)
        if "MARKER" in secret[i : i + 8] or i > 8
    ]


def _leaks(folders, secret=MARKER):
    found = []
    pieces = _pieces(secret)
    for folder in folders:
        for path in Path(folder).rglob("*"):
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                hits = [p.decode() for p in pieces if p in data]
                if hits:
                    found.append((str(path), hits[:3]))
    return found


def _isolated_env(tmp_path, **extra):
    """Temp files and the home folder of the run go where the test can search them."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL")
    }
    for name in ("tmp", "home"):
        (tmp_path / name).mkdir(exist_ok=True)
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "TMPDIR": str(tmp_path / "tmp"),
            "TEMP": str(tmp_path / "tmp"),
            "TMP": str(tmp_path / "tmp"),
            "HOME": str(tmp_path / "home"),
            **extra,
        }
    )
    return env


def _cli(env, *args, timeout=300):
    return run_cli(*args, env=env, timeout=timeout)


def _written(tmp_path):
    return [tmp_path / "runs", tmp_path / "tmp", tmp_path / "home"]


def test_scripted_run_with_marker_keys_in_the_environment_writes_them_nowhere(tmp_path):
    env = _isolated_env(tmp_path, ANTHROPIC_API_KEY=MARKER, OPENAI_API_KEY=MARKER)
    r = _cli(
        env,
        "reconstruct",
        "--provider",
        "scripted",
        "--out",
        str(tmp_path / "runs"),
        "--stages",
        "init,geometry",
        "--rollouts",
        "1",
        *TINY,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    run_dir = next((tmp_path / "runs").iterdir())
    assert (run_dir / "final.blend").is_file() and (run_dir / "report.html").is_file()
    # the run's temp folder is searched too, though a run leaves it empty (test_temp_files.py)
    assert _leaks(_written(tmp_path)) == []
    assert MARKER not in r.stdout + r.stderr
    # and the search does find a key where there is one
    (tmp_path / "home" / "x.bin").write_bytes(b"..." + MARKER[3:15].encode() + b"...")
    assert _leaks(_written(tmp_path))


def test_fake_server_run_through_the_cli_sends_the_key_only_in_the_auth_header(tmp_path):
    stages = ["init", "geometry"]
    replies = flatten_script(demo_script(), stages, {"init": 1})
    env = _isolated_env(tmp_path, OPENAI_API_KEY=MARKER)
    with fake_server() as server:
        server.queue(*replies)
        r = _cli(
            env,
            "reconstruct",
            str(ROOT / "viga_addon/demo/tabletop.png"),
            "--provider",
            "openai",
            "--base-url",
            server.url + "/v1",
            "--model",
            "m",
            "--out",
            str(tmp_path / "runs"),
            "--stages",
            ",".join(stages),
            "--rollouts",
            "1",
            *TINY,
        )
        requests = list(server.requests)
    assert r.returncode == 0, r.stderr[-2000:]
    assert len(requests) == len(replies)
    assert all(MARKER in req["headers"].get("authorization", "") for req in requests)
    assert all(MARKER not in json.dumps(req["body"]) for req in requests)
    assert _leaks(_written(tmp_path)) == []
    assert MARKER not in r.stdout + r.stderr


def test_rejected_key_is_not_echoed_in_errors_or_files(tmp_path):
    env = _isolated_env(tmp_path, OPENAI_API_KEY=MARKER)
    with fake_server() as server:
        server.queue({"fault": "401"})
        r = _cli(
            env,
            "reconstruct",
            str(ROOT / "viga_addon/demo/tabletop.png"),
            "--provider",
            "openai",
            "--base-url",
            server.url + "/v1",
            "--model",
            "m",
            "--out",
            str(tmp_path / "runs"),
            "--stages",
            "init",
            "--rollouts",
            "1",
            *TINY,
        )
    assert r.returncode == 3, r.stderr[-2000:]
    assert "OPENAI_API_KEY" in r.stderr
    for piece in _pieces(MARKER):
        assert piece.decode() not in r.stdout + r.stderr
    assert _leaks(_written(tmp_path)) == []


@pytest.mark.smoke
@pytest.mark.parametrize(
    "code",
    [
        "import os\nprint(os.environ)",
        "print(random._os.environ)",
        "print('{m._os.environ}'.format_map({'m': random}))",
        "o = getattr(random, '_o' + 's')\nprint(o.environ)",
        "print(bpy.app.driver_namespace)",
        "print(bpy.context.preferences.addons)",
        "print(getattr(bpy.context, 'prefer' + 'ences'))",
        "import statistics\nprint(statistics.sys.modules['os'].environ)",
    ],
)
def test_model_code_cannot_read_a_key_from_the_environment(monkeypatch, code):
    import bpy

    from viga_addon.tools.code.execute import execute_code

    monkeypatch.setenv("ANTHROPIC_API_KEY", MARKER)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    result = execute_code(code)
    assert result["ok"] is False and result.get("refused"), result
    assert MARKER not in json.dumps(result, default=str)
