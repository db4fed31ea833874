"""A run leaves nothing in the system temp folder: checkpoints are removed with their last use,
at exit and at a run's end, and those of dead processes are swept (tools/snapshot/store.py)."""

import os
import subprocess
import sys
from pathlib import Path

import bpy
import pytest
from pipeline_helpers import CLI_TINY, cli_env, run_cli, tiny_host

from viga_addon.tools.snapshot import store as snapshot

ROOT = Path(__file__).resolve().parents[2]
PHOTO = ROOT / "viga_addon/demo/tabletop.png"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def cube_scene(monkeypatch):
    # this process's checkpoint folder as if no earlier test had left a checkpoint alive in it
    monkeypatch.setattr(snapshot, "_temp_dir", None)
    monkeypatch.setattr(snapshot, "_live", set())
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.mesh.primitive_cube_add()
    yield bpy.context.scene
    bpy.ops.wm.read_factory_settings(use_empty=True)


def test_a_whole_run_leaves_its_private_temp_folder_empty(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    # what a killed run left behind, and the folder of a process still running (this one)
    stale = tmp / f"{snapshot.CHECKPOINT_PREFIX}{_dead_pid()}_abc123"
    stale.mkdir()
    (stale / "checkpoint_1.blend").write_bytes(b"x" * 1000)
    alive = tmp / f"{snapshot.CHECKPOINT_PREFIX}{os.getpid()}_def456"
    alive.mkdir()
    done = run_cli(
        "reconstruct",
        str(PHOTO),
        "--provider",
        "scripted",
        "--out",
        str(tmp_path / "runs"),
        *CLI_TINY,
        env=cli_env(TMPDIR=str(tmp)),
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in tmp.iterdir()) == [alive.name]  # the stale one swept
    assert list(alive.iterdir()) == []


def test_the_checkpoint_folder_goes_with_the_last_checkpoint(cube_scene, tmp_path):
    first, second = snapshot.checkpoint(), snapshot.checkpoint()
    folder = first.path.parent
    assert folder.name.startswith(f"{snapshot.CHECKPOINT_PREFIX}{os.getpid()}_")
    first.discard()
    assert folder.is_dir() and second.path.is_file()
    assert snapshot.rollback(second)["ok"]
    second.discard()
    second.discard()  # twice is fine
    assert not folder.exists()
    third = snapshot.checkpoint()  # a new folder when needed again
    assert third.path.is_file()
    third.discard()
    assert not third.path.parent.exists()


def test_sweep_removes_only_dead_processes_folders(tmp_path):
    dead = tmp_path / f"{snapshot.CHECKPOINT_PREFIX}{_dead_pid()}_x1"
    mine = tmp_path / f"{snapshot.CHECKPOINT_PREFIX}{os.getpid()}_x2"
    parent = tmp_path / f"{snapshot.CHECKPOINT_PREFIX}{os.getppid()}_x3"
    other = tmp_path / "viga_checkpoints_notapid"
    unrelated = tmp_path / f"something_{_dead_pid()}_x4"
    for folder in (dead, mine, parent, other, unrelated):
        folder.mkdir()
    (dead / "checkpoint.blend").write_bytes(b"x")
    assert snapshot.sweep_stale_checkpoints(tmp_path) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (mine, parent, other, unrelated)
    )


def test_closing_the_host_drops_its_undo_checkpoints(cube_scene):
    host = tiny_host()
    assert host.call("execute_code", {"code": "bpy.data.objects[0].location.x = 1"})["ok"]
    assert host.call("execute_code", {"code": "bpy.data.objects[0].location.x = 2"})["ok"]
    folder = snapshot._checkpoint_dir()
    assert any(folder.iterdir())  # revert_last's checkpoints
    host.close()
    assert not folder.exists()
