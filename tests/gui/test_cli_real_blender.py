"""The CLI in a real Blender binary, with the user's extensions installed and enabled: it runs
the demo to done with its render process started from the same binary, leaves the user's
preferences, extensions and files as they were, and exits with its own exit code."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

from userhome import NEIGHBOUR_ID, REPO
from window import processes_of

TINY = [
    "--preview-size",
    "48",
    "--preview-samples",
    "2",
    "--final-size",
    "64",
    "--final-samples",
    "2",
    "--verify-size",
    "48",
    "--rollouts",
    "2",
    "--render-device",
    "cpu",
]


def _user_files(home: Path) -> dict[str, str]:
    """Every file of the user's Blender config (extensions, their wheels, preferences) with a
    digest of its content."""
    config = home / ".config" / "blender"
    return {
        str(p.relative_to(config)): hashlib.blake2b(p.read_bytes(), digest_size=8).hexdigest()
        for p in sorted(config.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def _cli(box, home, *args, session="cli", timeout=900):
    argv = [
        box.spec.blender,
        "-b",
        "--python",
        str(REPO / "viga_addon" / "__main__.py"),
        "--",
        *args,
    ]
    env = {"HOME": str(home), "VIGA_GUI_SESSION": session}
    return box.run(argv, env=env, timeout=timeout, cwd=str(REPO))


def test_reconstruct_in_the_real_binary_keeps_the_users_extensions(box, home, tmp_path):
    before = _user_files(home)
    site = [k for k in before if "/.local/lib/" in k and "/site-packages/" in k]
    assert any("viga_neighbour_pkg" in k for k in site), "the neighbour's wheel is installed"
    assert len(site) > 1000, len(site)  # ours: anthropic, openai, pydantic, pillow, …

    seen: list[str] = []
    stop = threading.Event()
    session = f"cli-{tmp_path.name}"

    def watch():  # what the run starts, from outside
        while not stop.is_set():
            seen.extend(cmd for _pid, cmd in processes_of(session) if cmd not in seen)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        done = _cli(
            box,
            home,
            "reconstruct",
            str(REPO / "viga_addon" / "demo" / "tabletop.png"),
            "--provider",
            "scripted",
            "--out",
            str(tmp_path / "runs"),
            *TINY,
            session=session,
        )
    finally:
        stop.set()
        watcher.join()
    assert done["rc"] == 0, done["out"][-2000:] + done["err"][-4000:]
    run_dir = Path(done["out"].strip().splitlines()[-1])
    state = json.loads((run_dir / "state.json").read_text())
    assert state["status"] == "done"
    assert (run_dir / "final.blend").is_file() and (run_dir / "scene.py").is_file()

    render_processes = [c for c in seen if "render/process/worker.py" in c]
    assert render_processes, seen
    assert all(c.split()[0] == box.spec.blender for c in render_processes), render_processes
    assert all("-b --factory-startup" in c for c in render_processes)
    assert not processes_of(session), "the run left a process behind"

    after = _user_files(home)
    assert after == before, {
        "removed": sorted(set(before) - set(after))[:10],
        "added": sorted(set(after) - set(before))[:10],
        "changed": sorted(k for k in before if k in after and before[k] != after[k])[:10],
    }
    assert any(NEIGHBOUR_ID in k for k in after)


def test_an_uncaught_error_in_the_real_binary_exits_1(box, home, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    done = _cli(
        box,
        home,
        "reconstruct",
        str(REPO / "viga_addon" / "demo" / "tabletop.png"),
        "--provider",
        "scripted",
        "--out",
        str(blocker / "runs"),
        *TINY,
    )
    assert done["rc"] == 1, (done["rc"], done["err"][-2000:])
    assert "Traceback" in done["err"] and "a-file" in done["err"]


def test_bad_usage_in_the_real_binary_exits_2(box, home):
    done = _cli(box, home, "reconstruct", "/no/such/photo.png", "--provider", "scripted")
    assert done["rc"] == 2, (done["rc"], done["err"][-2000:])
