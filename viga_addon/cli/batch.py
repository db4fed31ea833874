"""``python -m viga_addon batch IMAGES_DIR_OR_MANIFEST --out DIR --workers N``.

Reconstructs every image of a folder (or of a manifest: a text file with one path per line, or
a JSON list of paths / ``{"images": [...]}``) in its own headless process —
``python -m viga_addon reconstruct …`` (or ``blender -b --python viga_addon/__main__.py --
reconstruct …`` with ``--blender``) — N at a time, and writes ``summary.json`` and ``summary.md`` in DIR.

Layout of DIR::

    batch.lock                     held while a batch runs here (a second one is refused)
    summary.json, summary.md       rewritten whenever a run ends
    runs/<image key>/try_<k>/<run folder>/   one per try (--best-of N makes N tries)
    runs/<image key>/try_<k>/reconstruct.log  the process's stderr

Restarting a batch on the same DIR never redoes finished work: a try whose run folder says
"done" is kept as it is, an interrupted one is resumed with ``--resume`` (its completed rounds
are kept), a missing one is started. Non-images, unreadable files, missing manifest entries and
duplicates (same content hash) are skipped with a reason in the summary; they never stop the
batch. The image key is the file's stem plus the start of its content hash, so renaming the
folder does not lose the work and two photos with one name do not collide.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..agent.runstore import write_json, write_text
from .batch_files import (
    RESULT_FIELDS,
    check_image,
    find_run_dir,
    fmt,
    image_key,
    is_finished,
    list_inputs,
    public_item,
    run_facts,
    summary_markdown,
)
from .options import add_run_options, passthrough_args

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
METRICS = ("psnr", "ssim")
POLL_SECONDS = 0.2
NOVEL_VIEWS_DIR = "novel_views"  # the report shows these first (see agent/report.py)
VIEWS_SCRIPT = """
import sys
sys.path.insert(0, {root!r})
import bpy
bpy.ops.wm.open_mainfile(filepath={blend!r})
from viga_addon.tools.render.viewing import Viewer
viewer = Viewer()
viewer.render_options = {options!r}
result = viewer.initialize_viewpoint([], count={count}, out_dir={out!r})
if not result.get("ok"):
    print(result, file=sys.stderr)
sys.exit(0 if result.get("ok") else 1)
"""


# ------------------------------------------------------------------------------------ CLI
def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``batch`` subcommand to the CLI's subparsers; returns its parser."""
    p = subparsers.add_parser(
        "batch",
        help="reconstruct a folder (or manifest) of photos, N processes in parallel",
        description="Reconstruct every photo of a folder or manifest, one headless process per "
        "photo, and write summary.json / summary.md. Restarting on the same --out "
        "resumes interrupted runs and never redoes finished ones. With a model "
        "provider, starting a batch is your consent to send the photos and renders "
        "to that provider.",
    )
    p.add_argument(
        "images",
        help="a folder of photos, or a manifest (text: one path per line; "
        'JSON: a list of paths or {"images": [...]})',
    )
    p.add_argument("--out", required=True, help="batch folder (created; reused on restart)")
    p.add_argument("--workers", type=int, default=1, help="processes in parallel (default 1)")
    p.add_argument(
        "--best-of",
        type=int,
        default=1,
        metavar="N",
        help="reconstruct each photo N times and keep the best by --metric",
    )
    p.add_argument(
        "--metric",
        choices=METRICS,
        default="psnr",
        help="what --best-of compares (final render against the photo; default psnr)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds one reconstruct process may take before it is stopped "
        "(resumable on the next batch run)",
    )
    p.add_argument(
        "--novel-views",
        type=int,
        default=4,
        metavar="N",
        help="render N views of each finished final.blend from around the scene "
        "for its report, at the preview size and samples (default 4; 0: off, "
        "the report then reuses the verifier's views)",
    )
    p.add_argument(
        "--blender",
        metavar="PATH",
        help="run each photo in this Blender executable (blender -b) instead of "
        "python -m viga_addon",
    )
    add_run_options(p, passthrough=True)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    """Run the batch described by parsed ``args``; returns the process exit code.

    0 every photo finished (bad inputs skipped with a reason), 1 some runs failed or paused,
    2 bad usage (no images, bad options, another batch holds the folder), 130 interrupted.
    """
    if args.workers < 1 or args.best_of < 1:
        print("error: --workers and --best-of must be at least 1", file=sys.stderr)
        return 2
    source = Path(args.images)
    if not source.exists():
        print(
            f"error: {source} does not exist (give a folder of photos or a manifest)",
            file=sys.stderr,
        )
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lock = _take_lock(out / "batch.lock")
    if lock is None:
        print(
            f"error: another batch is running in {out}; wait for it or stop it first",
            file=sys.stderr,
        )
        return 2
    try:
        return Batch(args, source, out).run()
    finally:
        lock.close()


def _take_lock(path: Path):
    handle = open(path, "a+")
    try:
        import fcntl
    except ImportError:  # Windows: no advisory lock; one batch per folder is up to the user
        return handle
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


class Batch:
    def __init__(self, args, source: Path, out: Path):
        self.args = args
        self.source = source
        self.out = out
        self.items: list[dict] = []  # one per input entry, in order
        self.started = time.time()

    # ---------------------------------------------------------------- planning
    def plan(self) -> None:
        seen: dict[str, str] = {}
        for path, problem in list_inputs(self.source):
            item = {"image": str(path), "name": path.name}
            if problem is None:
                sha, problem = check_image(path)
            if problem is None and sha in seen:
                problem = f"duplicate of {seen[sha]} (same content)"
            if problem is not None:
                item.update(status="skipped", reason=problem)
            else:
                seen[sha] = path.name
                key = image_key(path, sha)
                item.update(
                    sha256=sha,
                    key=key,
                    status="pending",
                    reason="",
                    tries=[
                        {"try": k, "root": str(self.out / "runs" / key / f"try_{k}")}
                        for k in range(1, self.args.best_of + 1)
                    ],
                )
            self.items.append(item)

    # ---------------------------------------------------------------- commands
    def _passthrough(self) -> list[str]:
        return passthrough_args(self.args)

    def command(self, item: dict, tr: dict, resume: Path | None) -> list[str]:
        if self.args.blender:
            head = [
                self.args.blender,
                "-b",
                "--factory-startup",
                "--python",
                str(PACKAGE_ROOT / "__main__.py"),
                "--",
            ]
        else:
            head = [sys.executable, "-m", "viga_addon"]
        if resume is not None:
            body = ["reconstruct", "--resume", str(resume)]
        else:
            body = ["reconstruct", item["image"], "--out", tr["root"], "--name", item["key"]]
        return head + body + ["--quiet"] + self._passthrough()

    # ---------------------------------------------------------------- running
    def run(self) -> int:
        try:
            self.plan()
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        queue = []
        for item in self.items:
            if item["status"] == "skipped":
                continue
            for tr in item["tries"]:
                facts = run_facts(find_run_dir(Path(tr["root"])))
                tr.update(facts)
                if is_finished(facts):
                    tr["note"] = "finished earlier; kept, not redone"
                    if self._wants_views(tr):
                        tr["queued"] = True
                        queue.append((item, tr, "views"))
                else:
                    tr["queued"] = True
                    queue.append((item, tr, "reconstruct"))
            self._settle(item)
        runnable = [i for i in self.items if i["status"] != "skipped"]
        print(
            f"batch: {len(self.items)} entries, {len(runnable)} photos, "
            f"{sum(1 for q in queue if q[2] == 'reconstruct')} runs to do, "
            f"{sum(1 for q in queue if q[2] == 'views')} novel-view renders to catch up, "
            f"{self.args.workers} at a time",
            file=sys.stderr,
        )
        self.write_summary()
        if not runnable:
            print("error: no readable photos to reconstruct (see summary.md)", file=sys.stderr)
            return 2
        try:
            self._pump(queue)
        except KeyboardInterrupt:
            print("batch interrupted; run the same command again to resume", file=sys.stderr)
            self.write_summary()
            return 130
        self.write_summary()
        bad = [i for i in runnable if i["status"] != "done"]
        print(
            f"batch: {len(runnable) - len(bad)} of {len(runnable)} photos done; summary in "
            f"{self.out / 'summary.md'}",
            file=sys.stderr,
        )
        print(self.out / "summary.json")
        return 1 if bad else 0

    def _pump(self, queue: list) -> None:
        running: list[tuple] = []  # (process, item, try, kind, start time, log file)
        env = dict(os.environ)
        root = str(PACKAGE_ROOT.parent)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        try:
            while queue or running:
                while queue and len(running) < self.args.workers:
                    item, tr, kind = queue.pop(0)
                    try_root = Path(tr["root"])
                    try_root.mkdir(parents=True, exist_ok=True)
                    if kind == "views":
                        command = self.views_command(find_run_dir(try_root))
                        what = "novel views"
                    else:
                        resume = find_run_dir(try_root)
                        tr["note"] = "resumed an interrupted run" if resume else "started"
                        command = self.command(item, tr, resume)
                        what = "resume" if resume else "start"
                    log = open(try_root / "reconstruct.log", "ab")
                    log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {what}\n".encode())
                    log.flush()
                    proc = subprocess.Popen(
                        command,
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=log,
                        preexec_fn=_die_with_parent,
                    )
                    running.append((proc, item, tr, kind, time.monotonic(), log))
                    tr["running"] = True
                    self._settle(item)
                time.sleep(POLL_SECONDS)
                still = []
                for entry in running:
                    proc, item, tr, kind, t0, log = entry
                    code = proc.poll()
                    timed_out = (
                        code is None
                        and self.args.timeout is not None
                        and time.monotonic() - t0 > self.args.timeout
                    )
                    if timed_out:
                        code = _stop(proc)  # a killed run resumes from its last round
                    if code is None:
                        still.append(entry)
                        continue
                    log.close()
                    if kind == "views":
                        self._finish_views(item, tr, code)
                    else:
                        self._finish(item, tr, code, timed_out)
                        if self._wants_views(tr):
                            tr["queued"] = True
                            self._settle(item)
                            queue.insert(0, (item, tr, "views"))
                running = still
        finally:
            for proc, _item, _tr, _kind, _t0, log in running:
                _stop(proc)
                log.close()

    # ---------------------------------------------------------------- novel views
    def _wants_views(self, tr: dict) -> bool:
        if self.args.novel_views < 1 or tr.get("status") != "done" or tr.get("views_error"):
            return False
        run_dir = find_run_dir(Path(tr["root"]))
        return (
            run_dir is not None
            and (run_dir / "final.blend").is_file()
            and not any((run_dir / NOVEL_VIEWS_DIR).glob("*.png"))
        )

    def views_command(self, run_dir: Path) -> list[str]:
        a = self.args
        options = {
            "long_side": a.preview_size or 256,
            "samples": a.preview_samples or 16,
            "device": a.render_device or "auto",
            "engine": (a.engine or "cycles").upper(),
        }
        tmp = run_dir / f".{NOVEL_VIEWS_DIR}.tmp"
        script = VIEWS_SCRIPT.format(
            root=str(PACKAGE_ROOT.parent),
            blend=str(run_dir / "final.blend"),
            options=options,
            count=a.novel_views,
            out=str(tmp),
        )
        if a.blender:
            return [a.blender, "-b", "--factory-startup", "--python-expr", script]
        return [sys.executable, "-c", script]

    def _finish_views(self, item: dict, tr: dict, code: int) -> None:
        import shutil

        tr.pop("queued", None)
        tr.pop("running", None)
        run_dir = find_run_dir(Path(tr["root"]))
        tmp = run_dir / f".{NOVEL_VIEWS_DIR}.tmp"
        views = sorted(tmp.glob("*.png")) if tmp.is_dir() else []
        if code == 0 and views:
            final = run_dir / NOVEL_VIEWS_DIR
            shutil.rmtree(final, ignore_errors=True)
            tmp.rename(final)
            tr["novel_views"] = len(views)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
            tr["views_error"] = f"novel views not rendered (exit code {code}): " + _log_tail(
                Path(tr["root"]) / "reconstruct.log"
            )
        try:
            from ..agent.report import write_report

            tr["report"] = str(write_report(run_dir))
        except Exception as e:  # a report problem must not stop the batch
            tr["report_error"] = f"{type(e).__name__}: {e}"
        self._settle(item)
        self.write_summary()

    def _finish(self, item: dict, tr: dict, code: int, timed_out: bool) -> None:
        run_dir = find_run_dir(Path(tr["root"]))
        facts = run_facts(run_dir)
        tr.update(facts)
        tr["exit_code"] = code
        tr.pop("queued", None)
        tr.pop("running", None)
        if run_dir is not None:
            try:
                from ..agent.report import write_report

                tr["report"] = str(write_report(run_dir))
            except Exception as e:  # a report problem must not stop the batch
                tr["report_error"] = f"{type(e).__name__}: {e}"
        if timed_out:
            tr["note"] = f"stopped after --timeout {self.args.timeout:g} s; resumable"
        elif facts["status"] != "done":
            tail = _log_tail(Path(tr["root"]) / "reconstruct.log")
            tr["note"] = f"exit code {code}: {facts.get('message') or tail}"
        self._settle(item)
        self.write_summary()
        print(
            f"batch: {item['name']} try {tr['try']}: {tr['status']} "
            f"(PSNR {fmt(tr.get('psnr'))}, SSIM {fmt(tr.get('ssim'), 3)})",
            file=sys.stderr,
        )

    def _settle(self, item: dict) -> None:
        """Item status and the kept try (the best finished one by --metric)."""
        tries = item["tries"]
        done = [t for t in tries if t.get("status") == "done"]
        metric = self.args.metric
        if done:
            best = max(done, key=lambda t: (t.get(metric) is not None, t.get(metric) or 0.0))
            item["kept_try"] = best["try"]
            for key in ("run_dir", "report", *RESULT_FIELDS, *self._learned_names()):
                if key in best:
                    item[key] = best[key]
        if any(t.get("queued") for t in tries):
            item["status"] = "running" if any(t.get("running") for t in tries) else "pending"
            return
        unfinished = [t for t in tries if t.get("status") != "done"]
        item["status"] = "done" if done else "failed"
        item["reason"] = "; ".join(
            f"try {t['try']}: {t.get('status')} ({t.get('note', '')})" for t in unfinished
        )

    # ---------------------------------------------------------------- summary
    def _learned_names(self) -> list[str]:
        return [n for n, v in self.learned.items() if v.get("available")]

    @property
    def learned(self) -> dict:
        if not hasattr(self, "_learned"):
            try:
                from ..common.metrics import learned_metrics_available

                self._learned = learned_metrics_available()
            except Exception as e:  # never let an optional probe stop the batch
                self._learned = {"learned metrics": {"available": False, "reason": str(e)}}
        return self._learned

    def summary(self) -> dict:
        done = [i for i in self.items if i["status"] == "done"]
        means = {}
        for key in (
            "psnr",
            "ssim",
            "rounds",
            "input_tokens",
            "output_tokens",
            "cost_usd",
            "seconds",
            *self._learned_names(),
        ):
            values = [i[key] for i in done if isinstance(i.get(key), int | float)]
            means[key] = sum(values) / len(values) if values else None
        return {
            "source": str(self.source),
            "out": str(self.out),
            "options": {
                "workers": self.args.workers,
                "best_of": self.args.best_of,
                "metric": self.args.metric,
                "reconstruct": self._passthrough(),
            },
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "counts": {
                s: sum(1 for i in self.items if i["status"] == s)
                for s in ("done", "failed", "skipped", "pending", "running")
            },
            "mean": means,
            "learned_metrics": {
                n: {"available": bool(v.get("available")), "reason": v.get("reason", "")}
                for n, v in self.learned.items()
            },
            "images": [public_item(i) for i in self.items],
        }

    def write_summary(self) -> None:
        data = self.summary()
        write_json(self.out / "summary.json", data)
        write_text(self.out / "summary.md", summary_markdown(data))


def _log_tail(path: Path, limit: int = 300) -> str:
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return ""
    return " ".join(text[-limit:].split())


def _stop(proc: subprocess.Popen) -> int:
    """End a reconstruct process: SIGTERM, then SIGKILL. (Not SIGINT: one that lands during a
    Cycles render is swallowed by Blender.) Its run folder resumes from the last round."""
    if proc.poll() is None:
        proc.terminate()
        try:
            return proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def _die_with_parent() -> None:
    """In the child: be killed when the batch process dies (Linux), so a killed batch leaves no
    orphan still writing a run folder that the restarted batch will resume. Run folders are
    written atomically, so a killed run resumes from its last completed round."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
