"""The batch subcommand as a user runs it: real reconstruct subprocesses (scripted provider,
tiny renders), bad inputs, a killed-and-restarted batch, best-of selection."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
PHOTO = ROOT / "viga_addon/demo/tabletop.png"
TINY = [
    "--provider",
    "scripted",
    "--preview-size",
    "40",
    "--preview-samples",
    "2",
    "--final-size",
    "48",
    "--final-samples",
    "2",
    "--verify-size",
    "48",
    "--render-device",
    "cpu",
]
# the batch entry point as the CLI calls it (add_parser + run), independent of cli.py wiring
SHIM = """
import argparse, sys
from viga_addon.cli import batch
parser = argparse.ArgumentParser(prog="batch")
batch.add_parser(parser.add_subparsers(dest="command", required=True))
args = parser.parse_args(sys.argv[1:])
sys.exit(args.func(args))
"""


def _env():
    import os

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL")
    }
    env["PYTHONPATH"] = str(ROOT)
    return env


def batch_cmd(*args):
    return [sys.executable, "-c", SHIM, "batch", *args]


def run_batch(*args, timeout=600):
    return subprocess.run(
        batch_cmd(*args), cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=timeout
    )


def make_photos(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    base = Image.open(PHOTO).convert("RGB")
    out = []
    for i in range(n):
        path = folder / f"photo_{i}.png"
        # distinct content per photo (else they are duplicates)
        base.rotate(0 if i == 0 else 180 * (i % 2) + i).save(path)
        out.append(path)
    return out


def run_folders(out: Path) -> list[Path]:
    return sorted(p.parent for p in out.glob("runs/*/try_*/*/state.json"))


def snapshot_files(run_dir: Path) -> dict:
    return {
        p: p.read_bytes()
        for p in (run_dir / "events.jsonl", run_dir / "state.json", run_dir / "final.png")
    }


def test_bad_inputs_are_skipped_with_reasons_and_finished_work_is_never_redone(tmp_path):
    imgs = tmp_path / "imgs"
    a, b = make_photos(imgs, 2)
    (imgs / "zz_copy_of_a.png").write_bytes(a.read_bytes())
    (imgs / "notes.txt").write_text("not a photo")
    data = a.read_bytes()
    (imgs / "truncated.png").write_bytes(data[: len(data) // 2])
    (imgs / "gone.png").symlink_to(tmp_path / "nowhere.png")
    (imgs / "sub").mkdir()
    out = tmp_path / "out"
    args = [
        str(imgs),
        "--out",
        str(out),
        "--workers",
        "2",
        "--stages",
        "init",
        "--rollouts",
        "1",
        *TINY,
    ]
    t0 = time.monotonic()
    r = run_batch(*args)
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    by_name = {i["name"]: i for i in summary["images"]}
    assert by_name["zz_copy_of_a.png"]["status"] == "skipped"
    assert "duplicate of" in by_name["zz_copy_of_a.png"]["reason"]
    assert by_name["notes.txt"]["reason"] == "not an image"
    assert "truncated" in by_name["truncated.png"]["reason"]
    assert "not found" in by_name["gone.png"]["reason"]
    assert "folder" in by_name["sub"]["reason"]
    assert summary["counts"] == {"done": 2, "failed": 0, "skipped": 5, "pending": 0, "running": 0}
    done = [by_name["photo_0.png"], by_name["photo_1.png"]]
    for item in done:
        assert item["status"] == "done" and item["rounds"] == 1
        run = Path(item["run_dir"])
        metrics = json.loads((run / "metrics.json").read_text())
        assert item["psnr"] == pytest.approx(metrics["final"]["psnr"])
        assert Path(item["report"]).is_file()
        # four views of final.blend rendered for the report, shown by it
        assert len(list((run / "novel_views").glob("*.png"))) == 4
        assert item["tries"][0]["novel_views"] == 4
        assert "Rendered from final.blend" in Path(item["report"]).read_text()
    assert summary["mean"]["psnr"] == pytest.approx(sum(i["psnr"] for i in done) / 2)
    assert summary["mean"]["ssim"] == pytest.approx(sum(i["ssim"] for i in done) / 2)
    assert set(summary["learned_metrics"]) >= {"clip", "lpips"}
    md = (out / "summary.md").read_text()
    assert "| **mean** |" in md and "duplicate of photo_0.png" in md
    first_wall = time.monotonic() - t0

    before = {run: snapshot_files(run) for run in run_folders(out)}
    assert len(before) == 2
    t0 = time.monotonic()
    r = run_batch(*args)
    assert r.returncode == 0, r.stderr[-3000:]
    assert time.monotonic() - t0 < first_wall  # nothing rendered again
    assert "0 runs to do, 0 novel-view renders" in r.stderr
    assert {run: snapshot_files(run) for run in run_folders(out)} == before
    again = json.loads((out / "summary.json").read_text())
    assert all(
        "not redone" in t["note"]
        for i in again["images"]
        if i["status"] == "done"
        for t in i["tries"]
    )


def test_killed_batch_restarts_resuming_the_interrupted_run(tmp_path):
    imgs = tmp_path / "imgs"
    make_photos(imgs, 2)
    out = tmp_path / "out"
    args = [
        str(imgs),
        "--out",
        str(out),
        "--workers",
        "1",
        "--stages",
        "init,geometry",
        "--budget",
        "geometry=2",
        *TINY,
    ]
    proc = subprocess.Popen(
        batch_cmd(*args), cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 300
    second = None
    while time.time() < deadline and proc.poll() is None:
        runs = run_folders(out)
        late = [
            r
            for r in runs
            if "photo_1" in str(r) and (r / "stages/init/round_1/verdict.json").exists()
        ]
        if late:
            second = late[0]
            break
        time.sleep(0.05)
    assert second is not None, "the batch never reached the second photo"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = next(r for r in run_folders(out) if "photo_0" in str(r))
    assert json.loads((first / "state.json").read_text())["status"] == "done"
    # no orphan: the reconstruct process died with the batch (parent-death signal)
    deadline = time.time() + 30
    while time.time() < deadline and _processes_mentioning(str(tmp_path)):
        time.sleep(0.1)
    assert not _processes_mentioning(str(tmp_path))
    assert json.loads((second / "state.json").read_text())["status"] == "running"
    first_files = snapshot_files(first)
    init_verdict = (second / "stages/init/round_1/verdict.json").read_bytes()

    r = run_batch(*args)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "1 runs to do" in r.stderr
    assert snapshot_files(first) == first_files  # the finished photo was not redone
    assert run_folders(out) == sorted([first, second])  # resumed in place, no second folder
    assert (second / "stages/init/round_1/verdict.json").read_bytes() == init_verdict
    kinds = [
        json.loads(line)["kind"]
        for line in (second / "events.jsonl").read_text().splitlines()
        if line.strip()
    ]
    assert "resumed" in kinds and kinds[-1] == "done"
    summary = json.loads((out / "summary.json").read_text())
    notes = {i["name"]: i["tries"][0]["note"] for i in summary["images"]}
    assert notes == {
        "photo_0.png": "finished earlier; kept, not redone",
        "photo_1.png": "resumed an interrupted run",
    }


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            pass
    return found


def _fake_finished_run(try_root: Path, psnr: float, ssim: float) -> Path:
    """A run folder as a finished run leaves it (only the files the batch reads)."""
    run = try_root / "20260101-000000-x"
    run.mkdir(parents=True)
    (run / "state.json").write_text(
        json.dumps(
            {
                "status": "done",
                "phase": "done",
                "message": "done",
                "elapsed": 3.0,
                "stages": {"init": {"attempts": [{"round": 1}]}},
                "totals": {
                    "input_tokens": 10,
                    "output_tokens": 5,
                    "images": 2,
                    "requests": 1,
                    "cost_usd": 0.01,
                },
            }
        )
    )
    (run / "metrics.json").write_text(
        json.dumps(
            {
                "final": {"psnr": psnr, "ssim": ssim},
                "timing": {"elapsed": 3.0},
                "totals": {
                    "input_tokens": 10,
                    "output_tokens": 5,
                    "images": 2,
                    "requests": 1,
                    "cost_usd": 0.01,
                },
            }
        )
    )
    return run


@pytest.mark.smoke
@pytest.mark.parametrize("metric, kept", [("psnr", 2), ("ssim", 1)])
def test_best_of_keeps_the_best_try_by_the_chosen_metric(tmp_path, metric, kept):
    imgs = tmp_path / "imgs"
    (photo,) = make_photos(imgs, 1)
    manifest = tmp_path / "list.json"
    manifest.write_text(json.dumps({"images": ["imgs/photo_0.png"]}))
    out = tmp_path / "out"
    from viga_addon.cli.batch_files import check_image, image_key

    sha, problem = check_image(photo)
    assert problem is None
    key = image_key(photo, sha)
    runs = {
        1: _fake_finished_run(out / "runs" / key / "try_1", 20.0, 0.9),
        2: _fake_finished_run(out / "runs" / key / "try_2", 25.0, 0.8),
    }
    r = run_batch(str(manifest), "--out", str(out), "--best-of", "2", "--metric", metric, *TINY)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "0 runs to do" in r.stderr
    item = json.loads((out / "summary.json").read_text())["images"][0]
    assert item["kept_try"] == kept and item["run_dir"] == str(runs[kept])
    assert item["psnr"] == {1: 20.0, 2: 25.0}[kept]


def test_text_manifest_with_missing_entries_and_a_try_left_to_run(tmp_path):
    imgs = tmp_path / "imgs"
    (photo,) = make_photos(imgs, 1)
    manifest = tmp_path / "list.txt"
    manifest.write_text(f"# photos\nimgs/photo_0.png\n\nimgs/missing.jpg\n{photo}\n")
    out = tmp_path / "out"
    r = run_batch(str(manifest), "--out", str(out), "--stages", "init", "--rollouts", "1", *TINY)
    assert r.returncode == 0, r.stderr[-3000:]
    items = json.loads((out / "summary.json").read_text())["images"]
    assert [i["status"] for i in items] == ["done", "skipped", "skipped"]
    assert items[1]["reason"] == "not found"
    assert "duplicate of photo_0.png" in items[2]["reason"]


@pytest.mark.smoke
def test_usage_errors(tmp_path):
    r = run_batch(str(tmp_path / "nope"), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "does not exist" in r.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.md").write_text("hi")
    r = run_batch(str(empty), "--out", str(tmp_path / "o2"), *TINY)
    assert r.returncode == 2 and "no readable photos" in r.stderr
    summary = json.loads((tmp_path / "o2/summary.json").read_text())
    assert summary["images"][0]["reason"] == "not an image"
    r = run_batch(str(empty), "--out", str(tmp_path / "o3"), "--workers", "0")
    assert r.returncode == 2


@pytest.mark.smoke
def test_a_second_batch_on_the_same_folder_is_refused(tmp_path):
    import fcntl

    out = tmp_path / "out"
    out.mkdir()
    make_photos(tmp_path / "imgs", 1)
    with open(out / "batch.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        r = run_batch(str(tmp_path / "imgs"), "--out", str(out), *TINY)
    assert r.returncode == 2 and "another batch is running" in r.stderr
    assert not (out / "runs").exists()
