"""What batch reads and writes besides processes: its inputs (a folder or a manifest of
photos), the facts of each run folder (through the one progress model), and the summary."""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
from pathlib import Path
from typing import Any

from ..agent.progress import read_progress
from ..agent.runstore import read_json

IMAGE_SUFFIXES = {
    ".png",
    ".jpg",
    ".jpeg",
    ".tif",
    ".tiff",
    ".bmp",
    ".webp",
    ".tga",
    ".exr",
    ".hdr",
    ".gif",
}


# ------------------------------------------------------------------------------------ inputs
def list_inputs(source: Path) -> list[tuple[Path, str | None]]:
    """(path, problem) for every entry of a folder (sorted by name; hidden files such as
    .DS_Store are left out) or of a manifest (in its order; paths relative to the manifest)."""
    if source.is_dir():
        entries = sorted(p for p in source.iterdir() if not p.name.startswith("."))
        return [(p, "a folder, not an image" if p.is_dir() else None) for p in entries]
    try:
        text = source.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot read manifest {source}: {e}") from e
    if source.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as e:
            raise ValueError(f"manifest {source} is not valid JSON: {e}") from e
        items = data.get("images") if isinstance(data, dict) else data
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ValueError(f'manifest {source} must be a list of paths or {{"images": [paths]}}')
    else:
        if source.suffix.lower() in IMAGE_SUFFIXES:
            raise ValueError(f"{source} is an image; give its folder or a manifest")
        items = [
            line.strip()
            for line in text.splitlines()
            if line.strip() and not line.strip().startswith("#")
        ]
    base = source.parent
    return [((base / item) if not Path(item).is_absolute() else Path(item), None) for item in items]


def check_image(path: Path) -> tuple[str | None, str | None]:
    """(sha256 of the file, None) for a readable image, else (None, why it is skipped)."""
    if not path.exists():
        return None, "not found" + (" (dangling link)" if path.is_symlink() else "")
    if path.is_dir():
        return None, "a folder, not an image"
    try:
        data = path.read_bytes()
    except OSError as e:
        return None, f"unreadable: {e.strerror or e}"
    if not data:
        return None, "empty file"
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
    except UnidentifiedImageError:
        return None, "not an image"
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        return None, f"unreadable image: {e}"
    return hashlib.sha256(data).hexdigest(), None


def image_key(path: Path, sha: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", path.stem).strip("_")[:40] or "image"
    return f"{stem}-{sha[:10]}"


# ------------------------------------------------------------------------------------ runs
def find_run_dir(try_root: Path) -> Path | None:
    """The run folder a try made (the newest with a state.json), if any."""
    if not try_root.is_dir():
        return None
    found = [p for p in try_root.iterdir() if p.is_dir() and (p / "state.json").is_file()]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def run_facts(run_dir: Path | None) -> dict[str, Any]:
    """Status and numbers of one run folder (a missing or torn file gives what is known)."""
    if run_dir is None:
        return {"status": "not started"}
    progress = read_progress(run_dir)
    try:
        metrics = read_json(run_dir / "metrics.json") or {}
    except (OSError, ValueError):
        metrics = {}
    final = metrics.get("final") or {}
    totals = progress.totals.to_json() if progress else (metrics.get("totals") or {})
    timing = metrics.get("timing") or {}
    facts = {
        "status": str(progress.status) if progress else "unknown",
        "phase": str(progress.phase) if progress else None,
        "message": progress.message if progress else "",
        "run_dir": str(run_dir),
        "psnr": json_number(final.get("psnr")),
        "ssim": json_number(final.get("ssim")),
        "rounds": progress.rounds if progress else 0,
        "input_tokens": totals.get("input_tokens", 0),
        "output_tokens": totals.get("output_tokens", 0),
        "images_sent": totals.get("images", 0),
        "requests": totals.get("requests", 0),
        "cost_usd": totals.get("cost_usd", 0.0),
        "seconds": timing.get("elapsed", progress.elapsed if progress else None),
        "physics_ready": (metrics.get("physics") or {}).get("ready"),  # the final scene's check
        "physics": (metrics.get("physics") or {}).get("summary"),
    }
    for name, value in final.items():  # learned metrics, when a run computed them
        if name not in ("psnr", "ssim", "note", "error") and isinstance(value, int | float):
            facts[name] = value
    if (run_dir / "report.html").is_file():
        facts["report"] = str(run_dir / "report.html")
    return facts


def json_number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return None if math.isnan(value) else (1e9 if math.isinf(value) else value)
    return None


def is_finished(facts: dict[str, Any]) -> bool:
    return facts["status"] == "done" or (facts["status"] == "failed" and facts["phase"] == "done")


# ------------------------------------------------------------------------------------ summary
RESULT_FIELDS = (
    "psnr",
    "ssim",
    "rounds",
    "input_tokens",
    "output_tokens",
    "images_sent",
    "requests",
    "cost_usd",
    "seconds",
    "physics_ready",
    "physics",
)


def public_item(item: dict) -> dict:
    """An item as summary.json shows it (no internal bookkeeping)."""
    out = {k: v for k, v in item.items() if k != "tries"}
    if item.get("tries"):
        out["tries"] = [
            {k: v for k, v in t.items() if k not in ("root", "queued", "running")}
            for t in item["tries"]
        ]
    return out


def fmt(value, digits=2) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "–"
    return f"{value:.{digits}f}"


def summary_markdown(data: dict) -> str:
    """summary.md: a table per photo and the means, for people."""
    learned = [n for n, v in data["learned_metrics"].items() if v["available"]]
    head = [
        "photo",
        "status",
        "PSNR",
        "SSIM",
        *learned,
        "rounds",
        "tokens in",
        "tokens out",
        "cost $",
        "time s",
        "kept try",
        "report / reason",
    ]
    lines = [
        f"# Batch summary: {data['source']}",
        "",
        f"Updated {data['updated']}. "
        + ", ".join(f"{n} {s}" for s, n in data["counts"].items() if n)
        + ".",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for item in data["images"]:
        if item["status"] == "done":
            tail = item.get("report") or item.get("run_dir") or ""
            if item.get("reason"):
                tail += f" ({item['reason']})"
        else:
            tail = item.get("reason") or ""
        row = [
            item["name"],
            item["status"],
            fmt(item.get("psnr")),
            fmt(item.get("ssim"), 3),
            *(fmt(item.get(n), 3) for n in learned),
            str(item.get("rounds", "–")),
            str(item.get("input_tokens", "–")),
            str(item.get("output_tokens", "–")),
            fmt(item.get("cost_usd"), 4),
            fmt(item.get("seconds"), 1),
            str(item.get("kept_try", "–")),
            tail.replace("|", "\\|"),
        ]
        lines.append("| " + " | ".join(row) + " |")
    m = data["mean"]
    lines.append(
        "| **mean** | | "
        + " | ".join(
            [
                fmt(m.get("psnr")),
                fmt(m.get("ssim"), 3),
                *(fmt(m.get(n), 3) for n in learned),
                fmt(m.get("rounds"), 1),
                fmt(m.get("input_tokens"), 0),
                fmt(m.get("output_tokens"), 0),
                fmt(m.get("cost_usd"), 4),
                fmt(m.get("seconds"), 1),
                "",
                "",
            ]
        )
        + " |"
    )
    lines += [
        "",
        "Learned metrics: "
        + "; ".join(
            f"{n}: {'available' if v['available'] else 'not available (' + v['reason'] + ')'}"
            for n, v in data["learned_metrics"].items()
        ),
        "",
    ]
    return "\n".join(lines)
