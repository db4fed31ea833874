"""report.html: a run folder explained in pictures (pure Python, no bpy, no network).

``write_report(run_dir)`` reads whatever the run folder holds — finished or not — and writes
``report.html`` beside it: the photo next to the final render (or the latest render while the
run is going), novel views (the verifier's view renders from ``stages/*/round_*/views/``: the
report never renders anything itself), one strip per stage with a render per round, the
verifier's verdict and checklist, the code diff from the previous round and the metrics, a
PSNR/SSIM-over-rounds SVG, and time, tokens and cost per stage.

Images are linked relatively (the file works offline next to the run folder) or, with
``embed=True``, inlined as data: URIs so the single file can be mailed around. No script, font
or style sheet is loaded from anywhere.
"""

from __future__ import annotations

import base64
import difflib
import math
import re
import time
from html import escape
from pathlib import Path

from .plots import metrics_svg
from .report_data import collect_run
from .report_motion import motion_html
from .runstore import write_text
from .state import RunState

REPORT_NAME = "report.html"
MAX_NOVEL_VIEWS = 6
MAX_DIFF_LINES = 400


def _num(value, digits=2, suffix="") -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "–"
    if math.isinf(value):
        return "∞"
    return f"{value:.{digits}f}{suffix}"


def _duration(seconds) -> str:
    if not isinstance(seconds, int | float) or seconds < 0:
        return "–"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(round(seconds)), 60)
    return f"{minutes} min {sec:02d} s"


class _Images:
    """Turns image paths into src attributes: relative links or data: URIs."""

    def __init__(self, run_dir: Path, embed: bool):
        self.run_dir = run_dir
        self.embed = embed

    def src(self, path: Path) -> str:
        if self.embed:
            try:
                data = base64.b64encode(path.read_bytes()).decode()
            except OSError:
                return ""
            suffix = path.suffix.lower()
            mime = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif"}.get(
                suffix, "image/png"
            )
            return f"data:{mime};base64,{data}"
        try:
            rel = path.relative_to(self.run_dir)
        except ValueError:
            return escape(path.as_uri())
        return escape("/".join(rel.parts))

    def img(self, path: Path | None, alt: str, cls: str = "") -> str:
        if path is None:
            return f'<div class="noimg {cls}">{escape(alt)}<br>(not rendered yet)</div>'
        return (
            f'<img class="{cls}" src="{self.src(path)}" alt="{escape(alt)}" '
            f'title="{escape(alt)}" loading="lazy">'
        )


def code_diff_html(
    before: str | None, after: str | None, label_before: str, label_after: str
) -> str:
    """A unified diff as escaped HTML lines (added/removed lines coloured)."""
    if after is None:
        return '<p class="muted">no code written in this round</p>'
    lines = list(
        difflib.unified_diff(
            (before or "").splitlines(),
            after.splitlines(),
            label_before,
            label_after,
            lineterm="",
            n=2,
        )
    )
    if not lines:
        return '<p class="muted">same code as the previous round</p>'
    cut = len(lines) > MAX_DIFF_LINES
    lines = lines[:MAX_DIFF_LINES]
    out = []
    for line in lines:
        cls = (
            "hunk"
            if line.startswith("@@")
            else "file"
            if line.startswith(("---", "+++"))
            else "add"
            if line.startswith("+")
            else "del"
            if line.startswith("-")
            else "ctx"
        )
        out.append(f'<span class="{cls}">{escape(line)}</span>')
    if cut:
        out.append(f'<span class="hunk">… diff cut at {MAX_DIFF_LINES} lines; see code.py</span>')
    return '<pre class="diff">' + "\n".join(out) + "</pre>"


def plot_points(data: dict) -> list[dict]:
    """PSNR/SSIM points in run order (one per round with metrics, then the final render)."""
    points = []
    for stage in data["stages"]:
        for rnd in stage["rounds"]:
            m = rnd["metrics"] or {}
            if m.get("psnr") is None and m.get("ssim") is None:
                continue
            points.append(
                {
                    "stage": stage["name"],
                    "label": f"r{rnd['round']}",
                    "psnr": m.get("psnr"),
                    "ssim": m.get("ssim"),
                }
            )
    final = (data["metrics"] or {}).get("final") or {}
    if final.get("psnr") is not None or final.get("ssim") is not None:
        points.append(
            {
                "stage": "final",
                "label": "final",
                "psnr": final.get("psnr"),
                "ssim": final.get("ssim"),
            }
        )
    return points


_SAME_CAMERA_VIEW = re.compile(r"view_\d+")  # render_view: the scene camera, not a novel view


def novel_views(data: dict) -> tuple[list[Path], str]:
    """Views to show as novel views, and where they came from.

    Views of final.blend rendered for the report (``novel_views/``, made by the batch) come
    first; otherwise the verifier's view renders are reused:
    The latest round with at least two novel viewpoints wins; else the round with the most;
    else any view renders (render_view shows the scene camera, so it is the last resort).
    """
    if data.get("novel_views"):
        return data["novel_views"][:MAX_NOVEL_VIEWS], "final.blend"
    rounds = [(stage["name"], rnd) for stage in data["stages"] for rnd in stage["rounds"]]
    novel = [
        (name, rnd, [v for v in rnd["views"] if not _SAME_CAMERA_VIEW.fullmatch(v.stem)])
        for name, rnd in rounds
    ]
    several = [c for c in novel if len(c[2]) >= 2]
    if several:
        name, rnd, views = several[-1]
    else:
        some = [c for c in novel if c[2]]
        if some:
            name, rnd, views = max(reversed(some), key=lambda c: len(c[2]))
        else:
            anyv = [(n, r, r["views"]) for n, r in rounds if r["views"]]
            if not anyv:
                return [], ""
            name, rnd, views = anyv[-1]
    return views[:MAX_NOVEL_VIEWS], f"{name} round {rnd['round']}"


# ------------------------------------------------------------------------------------ HTML
CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;
background:#f6f7f9}
main{max-width:1240px;margin:0 auto;padding:18px 22px 60px}
h1{font-size:22px;margin:6px 0 2px}h2{font-size:17px;margin:26px 0 8px}
h3{font-size:15px;margin:0 0 6px}
.muted{color:#6b7280}.small{font-size:12px}
.badge{display:inline-block;padding:1px 7px;border-radius:9px;font-size:12px;margin-left:4px;
background:#e5e7eb;color:#374151}
.badge.approved,.badge.done{background:#d1fae5;color:#065f46}
.badge.rejected,.badge.failed,.badge.cancelled{background:#fee2e2;color:#991b1b}
.badge.best{background:#dbeafe;color:#1e40af}
.badge.running,.badge.paused,.badge.budget_spent{background:#fef3c7;color:#92400e}
.hero{display:flex;gap:16px;flex-wrap:wrap}
.hero figure{margin:0;background:#fff;border:1px solid #e2e5ea;border-radius:8px;padding:8px}
.hero img,.hero .noimg{width:380px;max-width:100%;display:block}
figcaption{font-size:12px;color:#4b5563;margin-top:4px}
.views{display:flex;gap:8px;flex-wrap:wrap;margin-top:10px}
.views img{width:180px;border:1px solid #e2e5ea;border-radius:6px;background:#fff}
.noimg{background:#eceff3;color:#6b7280;display:flex;align-items:center;justify-content:center;
text-align:center;min-height:120px;border-radius:6px;font-size:12px}
table{border-collapse:collapse;background:#fff;font-size:13px}
th,td{border:1px solid #e2e5ea;padding:4px 9px;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f0f2f5}
.stage{background:#fff;border:1px solid #e2e5ea;border-radius:8px;padding:12px 14px;margin:14px 0}
.strip{display:flex;gap:12px;overflow-x:auto;padding-bottom:6px}
.round{flex:0 0 300px;border:1px solid #e5e7eb;border-radius:8px;padding:8px;background:#fafbfc}
.round.best{border-color:#60a5fa;box-shadow:0 0 0 2px #bfdbfe}
.round img,.round .noimg{width:100%;border-radius:5px;display:block}
.round ul{margin:6px 0;padding-left:18px;font-size:12.5px}
.metrics{font-size:12.5px;margin:6px 0}
details{margin-top:6px}summary{cursor:pointer;font-size:12.5px;color:#374151}
pre.diff{font:11.5px/1.35 ui-monospace,Menlo,Consolas,monospace;background:#0f172a;color:#cbd5e1;
padding:8px;border-radius:6px;overflow:auto;max-height:360px;white-space:pre}
pre.diff .add{color:#86efac}pre.diff .del{color:#fca5a5}pre.diff .hunk{color:#93c5fd}
pre.diff .file{color:#94a3b8}
.plot{max-width:100%;height:auto;background:#fff;border:1px solid #e2e5ea;border-radius:8px}
.note{font-size:12.5px;color:#4b5563}
"""


def _badge(text: str, cls: str = "") -> str:
    return f'<span class="badge {escape(cls or text)}">{escape(text.replace("_", " "))}</span>'


def _round_card(stage: dict, rnd: dict, previous_code: str | None, images: _Images) -> str:
    n = rnd["round"]
    verdict = rnd["verdict"] or {}
    badges = []
    if rnd["failed"]:
        badges.append(_badge("failed"))
    elif not rnd["finished"]:
        badges.append(_badge("in progress", "running"))
    elif verdict.get("approved"):
        badges.append(_badge("approved"))
    else:
        badges.append(_badge("rejected"))
    is_best = stage["best"] == n
    if is_best:
        badges.append(_badge("kept", "best"))
    picture = rnd["render"] or rnd["before"]
    what = "render" if rnd["render"] else "scene before the round"
    parts = [
        f'<div class="round{" best" if is_best else ""}">',
        f"<h3>Round {n}{''.join(badges)}</h3>",
        images.img(picture, f"{stage['name']} round {n}: {what}"),
    ]
    m = rnd["metrics"] or {}
    metric_bits = [f"PSNR {_num(m.get('psnr'))} dB", f"SSIM {_num(m.get('ssim'), 3)}"]
    if isinstance(verdict.get("score"), int | float):
        metric_bits.append(f"verifier score {_num(verdict['score'], 0)}")
    if isinstance(rnd["coverage"], int | float):
        metric_bits.append(f"coverage {_num(rnd['coverage'] * 100, 0)}%")
    if isinstance(m.get("physics"), dict):
        metric_bits.append(f"physics: {escape(str(m['physics'].get('summary', '')))}")
    parts.append(f'<div class="metrics">{" · ".join(metric_bits)}</div>')
    if rnd.get("physics_frames"):
        caption = f"{stage['name']} round {n}: settle check, frames 0 and 48"
        parts.append(images.img(rnd["physics_frames"], caption))
    if rnd["summary"]:
        parts.append(f'<div class="note"><b>Generator:</b> {escape(str(rnd["summary"]))}</div>')
    if rnd["failed"]:
        parts.append(f'<div class="note"><b>Failed:</b> {escape(str(rnd["failed"]))}</div>')
    checklist = verdict.get("checklist") or []
    if checklist:
        items = "".join(f"<li>{escape(str(c))}</li>" for c in checklist)
        parts.append(f'<div class="note"><b>Verifier checklist:</b></div><ul>{items}</ul>')
    elif rnd["finished"] and verdict.get("approved"):
        parts.append('<div class="note"><b>Verifier:</b> approved, nothing left to fix</div>')
    if verdict.get("note"):
        parts.append(f'<div class="note"><b>Note:</b> {escape(str(verdict["note"]))}</div>')
    label = f"round {n - 1}" if previous_code is not None else "empty"
    summary = f"Code diff from round {n - 1}" if previous_code is not None else "Code"
    parts.append(
        f"<details><summary>{escape(summary)}</summary>"
        + code_diff_html(previous_code, rnd["code"], label, f"round {n}")
        + "</details>"
    )
    if rnd["views"]:
        parts.append(
            f"<details><summary>{len(rnd['views'])} verifier view(s)</summary>"
            '<div class="views">'
            + "".join(images.img(v, v.stem) for v in rnd["views"][:MAX_NOVEL_VIEWS])
            + "</div></details>"
        )
    parts.append("</div>")
    return "".join(parts)


def _stage_section(stage: dict, images: _Images) -> str:
    tokens = stage["tokens"]
    head = (
        f'<h2 id="stage-{escape(stage["name"])}">{escape(stage["name"].title())}'
        f"{_badge(stage['status'])}</h2>"
        f'<div class="note">{len(stage["rounds"])} of {stage["budget"] or "?"} rounds · '
        f"{_duration(stage['seconds'])} · "
        f"{tokens.get('input_tokens', 0):,} uncached in + "
        f"{tokens.get('cache_write_tokens', 0):,} cache writes + "
        f"{tokens.get('cache_read_tokens', 0):,} cache reads / "
        f"{tokens.get('output_tokens', 0):,} out tokens · "
        f"{tokens.get('images', 0)} images sent · ${stage['cost_usd'] or 0:.4f}</div>"
    )
    if not stage["rounds"]:
        return f'<section class="stage">{head}<p class="muted">not started</p></section>'
    cards = []
    previous = None
    for rnd in stage["rounds"]:
        # init rollouts are independent attempts; the diff still shows how they differ
        cards.append(_round_card(stage, rnd, previous, images))
        previous = rnd["code"] if rnd["code"] is not None else previous
    strip = f'<div class="strip">{"".join(cards)}</div>'
    return f'<section class="stage">{head}{strip}{_selection_note(stage)}</section>'


def _selection_note(stage: dict) -> str:
    """Init: which rollout was kept, by whom, why, and every rollout's score."""
    chosen = stage.get("selection") or {}
    if not chosen.get("best"):
        return ""
    scores = ", ".join(
        f"rollout {r['round']}: {_num(r.get('score'), 1)}"
        + (f" (coverage {_num(r.get('coverage'), 2)})" if r.get("coverage") is not None else "")
        for r in chosen.get("rollouts") or []
    )
    who = "the selector" if chosen.get("by") == "selector" else "the coverage/metrics ranking"
    return (
        f'<p class="note">Kept rollout {escape(str(chosen["best"]))}, chosen by {who}: '
        f"{escape(chosen.get('reason') or '')}. Scores: {escape(scores)}.</p>"
    )


def _cost_table(data: dict) -> str:
    rows = []
    keys = ("input_tokens", "cache_write_tokens", "cache_read_tokens", "output_tokens")
    totals = dict.fromkeys((*keys, "images", "requests"), 0)
    cost_total = 0.0
    seconds_total = 0.0
    for stage in data["stages"]:
        t = stage["tokens"]
        for k in totals:
            totals[k] += t.get(k, 0) or 0
        cost_total += stage["cost_usd"] or 0.0
        seconds_total += stage["seconds"] or 0.0
        best = stage["best"]
        best_m = next((r["metrics"] for r in stage["rounds"] if r["round"] == best), {}) or {}
        rows.append(
            f"<tr><td>{escape(stage['name'])}</td><td>{escape(stage['status'].replace('_', ' '))}"
            f"</td><td>{len(stage['rounds'])}</td><td>{_duration(stage['seconds'])}</td>"
            f"<td>{t.get('requests', 0)}</td>"
            + "".join(f"<td>{t.get(k, 0) or 0:,}</td>" for k in keys)
            + f"<td>{t.get('images', 0)}</td>"
            f"<td>${stage['cost_usd'] or 0:.4f}</td><td>{_num(best_m.get('psnr'))}</td>"
            f"<td>{_num(best_m.get('ssim'), 3)}</td></tr>"
        )
    final = (data["metrics"] or {}).get("final") or {}
    rows.append(
        f"<tr><th>total</th><th></th><th>{sum(len(s['rounds']) for s in data['stages'])}</th>"
        f"<th>{_duration(seconds_total)}</th><th>{totals['requests']}</th>"
        + "".join(f"<th>{totals[k]:,}</th>" for k in keys)
        + f"<th>{totals['images']}</th><th>${cost_total:.4f}</th>"
        f"<th>{_num(final.get('psnr'))}</th><th>{_num(final.get('ssim'), 3)}</th></tr>"
    )
    return (
        "<table><tr><th>stage</th><th>status</th><th>rounds</th><th>time</th>"
        "<th>requests</th><th>uncached input</th><th>cache writes</th><th>cache reads</th>"
        "<th>output tokens</th><th>images</th>"
        "<th>cost</th><th>PSNR (kept)</th><th>SSIM (kept)</th></tr>" + "".join(rows) + "</table>"
    )


def _timing_note(data: dict) -> str:
    state = data["state"]
    timing = (data["metrics"] or {}).get("timing") or (state.timing.to_json() if state else {})
    parts = [
        f"{k.replace('_', ' ')} {_duration(v)}"
        for k, v in timing.items()
        if isinstance(v, int | float) and k != "elapsed"
    ]
    elapsed = timing.get("elapsed", state.elapsed if state else None)
    if not parts:
        return ""
    return f'<p class="note">Time split: {", ".join(parts)}; elapsed {_duration(elapsed)}.</p>'


def render_report(data: dict, embed: bool = False) -> str:
    """The report page for ``collect_run`` data, as one HTML string."""
    images = _Images(data["dir"], embed)
    state = data["state"]
    info = data["info"] or {}
    settings = state.settings.to_dict() if state else (info.get("settings") or {})
    status = str(state.status) if state else ("done" if data["final"] else "unknown")
    title = f"VIGA run {data['name']}"
    latest = None
    for stage in data["stages"]:
        for rnd in stage["rounds"]:
            latest = rnd["render"] or latest
    if data["final"]:
        result_img = images.img(data["final"], "final render", "")
        result_caption = "Final render (final.png)"
    else:
        result_img = images.img(latest, "latest render", "")
        result_caption = "Latest render (the run has not finished)"
    final_m = (data["metrics"] or {}).get("final") or {}
    if final_m:
        result_caption += (
            f" · PSNR {_num(final_m.get('psnr'))} dB · SSIM {_num(final_m.get('ssim'), 3)}"
        )
    physics = (data["metrics"] or {}).get("physics") or {}
    if physics:
        said = physics.get("summary") or f"check failed: {physics.get('error')}"
        ready = "physics-ready" if physics.get("ready") else "not physics-ready"
        result_caption += f" · settle check: {ready} ({said})"
    views, views_from = novel_views(data)
    views_html = ""
    if views:
        if views_from == "final.blend":
            where = "Rendered from final.blend around the scene for this report."
        else:
            where = (
                f"The verifier's own view renders from {views_from}, showing the scene as "
                "it was then (reused, not re-rendered)."
            )
        views_html = (
            f'<h2>Novel views</h2><p class="note">{escape(where)}</p><div class="views">'
            + "".join(images.img(v, v.stem) for v in views)
            + "</div>"
        )
    provider = settings.get("provider", "?")
    model = settings.get("model") or (
        "scripted demo, no model called" if provider == "scripted" else "default"
    )
    message = state.message if state else ""
    body = [
        f"<h1>{escape(title)}{_badge(status)}</h1>",
        f'<p class="note">Photo: {escape(str(info.get("photo", "?")))} · provider '
        f"{escape(str(provider))} ({escape(str(model))}) · memory "
        f"{escape(str(settings.get('memory', '?')))} · created "
        f"{escape(str(info.get('created', '?')))}"
        + (f"<br>{escape(message)}" if message else "")
        + "</p>",
        '<div class="hero">',
        f"<figure>{images.img(data['reference'], 'reference photo')}"
        "<figcaption>Reference photo</figcaption></figure>",
        f"<figure>{result_img}<figcaption>{escape(result_caption)}</figcaption></figure>",
        "</div>",
        views_html,
        motion_html(data, images),
        "<h2>PSNR and SSIM over rounds</h2>",
        metrics_svg(plot_points(data)),
        "<h2>Time, tokens and cost per stage</h2>",
        _cost_table(data),
        _timing_note(data),
        *(_stage_section(s, images) for s in data["stages"]),
        f'<p class="muted small">Written {escape(time.strftime("%Y-%m-%d %H:%M:%S"))} from '
        f"{escape(str(data['dir']))}; {len(data['events'])} events.</p>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src 'self' data: file:; style-src 'unsafe-inline'\">"
        f"<title>{escape(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{''.join(body)}</main></body></html>\n"
    )


def write_report(
    run_dir: str | Path,
    embed: bool = False,
    out: str | Path | None = None,
    state: RunState | dict | None = None,
) -> Path:
    """Write ``report.html`` (or ``out``) for the run folder ``run_dir``; returns its path.

    Works on any run folder, finished or not; never raises for missing or torn run files.
    ``embed=True`` inlines the images, making one self-contained offline file. A running
    session passes its live ``state`` (state.json on disk may be a step behind).
    """
    run_dir = Path(run_dir)
    path = Path(out) if out else run_dir / REPORT_NAME
    html = render_report(collect_run(run_dir, state=state), embed=embed)
    if not embed and path.parent.resolve() != run_dir.resolve():
        # relative links are relative to the run folder; keep them valid from elsewhere
        html = html.replace(
            "<head>", f'<head><base href="{escape(run_dir.resolve().as_uri())}/">', 1
        )
    write_text(path, html)
    return path
