"""Small inline SVG charts for the run report (no plotting library, no bpy).

``metrics_svg(points)`` draws PSNR (left axis, dB) and SSIM (right axis, 0–1) over the rounds of
a run, with a shaded band per stage. Missing values leave a gap; an infinite PSNR (identical
images) is drawn at the top of the axis with an ∞ label.
"""

from __future__ import annotations

import math
from html import escape

WIDTH = 760
HEIGHT = 260
MARGIN = {"left": 52, "right": 52, "top": 30, "bottom": 46}
PSNR_COLOUR = "#1f6fb4"
SSIM_COLOUR = "#d9731a"
BAND_COLOURS = ("#f2f4f7", "#ffffff")


def _finite(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _psnr_top(points) -> float:
    finite = [
        p for p in (_finite(q.get("psnr")) for q in points) if p is not None and math.isfinite(p)
    ]
    top = max(finite, default=0.0)
    return max(40.0, math.ceil(top / 10.0) * 10.0)


def metrics_svg(points: list[dict], title: str = "PSNR and SSIM per round") -> str:
    """An SVG (as a string) of PSNR and SSIM over rounds.

    ``points`` are in run order, each ``{"stage": str, "label": str, "psnr": float|None,
    "ssim": float|None}``; consecutive points of one stage share a band labelled with the stage.
    """
    w, h, m = WIDTH, HEIGHT, MARGIN
    plot_w = w - m["left"] - m["right"]
    plot_h = h - m["top"] - m["bottom"]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{w}" height="{h}" fill="#fff"/>',
    ]
    if not points:
        out.append(
            f'<text x="{w / 2}" y="{h / 2}" text-anchor="middle" font-size="14" '
            'fill="#777">no rounds with metrics yet</text></svg>'
        )
        return "".join(out)
    n = len(points)
    step = plot_w / n

    def x_at(i: int) -> float:
        return m["left"] + step * (i + 0.5)

    psnr_top = _psnr_top(points)

    def y_psnr(v: float) -> float:
        v = psnr_top if math.isinf(v) else min(max(v, 0.0), psnr_top)
        return m["top"] + plot_h * (1 - v / psnr_top)

    def y_ssim(v: float) -> float:
        return m["top"] + plot_h * (1 - min(max(v, 0.0), 1.0))

    # stage bands
    start = 0
    band = 0
    for i in range(1, n + 1):
        if i == n or points[i]["stage"] != points[start]["stage"]:
            x0 = m["left"] + step * start
            bw = step * (i - start)
            out.append(
                f'<rect x="{x0:.1f}" y="{m["top"]}" width="{bw:.1f}" height="{plot_h}" '
                f'fill="{BAND_COLOURS[band % 2]}" stroke="#dde1e6"/>'
            )
            out.append(
                f'<text x="{x0 + bw / 2:.1f}" y="{m["top"] - 8}" text-anchor="middle" '
                f'font-size="11" fill="#445">{escape(str(points[start]["stage"]))}</text>'
            )
            start = i
            band += 1
    # grid and axes
    for k in range(5):
        frac = k / 4
        y = m["top"] + plot_h * (1 - frac)
        out.append(
            f'<line x1="{m["left"]}" x2="{m["left"] + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#e3e6ea" stroke-dasharray="3,3"/>'
        )
        out.append(
            f'<text x="{m["left"] - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="{PSNR_COLOUR}">{psnr_top * frac:.0f}</text>'
        )
        out.append(
            f'<text x="{m["left"] + plot_w + 6}" y="{y + 4:.1f}" font-size="11" '
            f'fill="{SSIM_COLOUR}">{frac:.2f}</text>'
        )
    out.append(
        f'<text x="14" y="{m["top"] + plot_h / 2}" font-size="11" fill="{PSNR_COLOUR}" '
        f'transform="rotate(-90 14 {m["top"] + plot_h / 2})" text-anchor="middle">'
        "PSNR (dB)</text>"
    )
    xr = w - 12
    out.append(
        f'<text x="{xr}" y="{m["top"] + plot_h / 2}" font-size="11" fill="{SSIM_COLOUR}" '
        f'transform="rotate(90 {xr} {m["top"] + plot_h / 2})" text-anchor="middle">'
        "SSIM</text>"
    )
    for i, p in enumerate(points):
        out.append(
            f'<text x="{x_at(i):.1f}" y="{m["top"] + plot_h + 16}" text-anchor="middle" '
            f'font-size="10" fill="#555">{escape(str(p.get("label", i + 1)))}</text>'
        )
    # series
    for key, colour, y_of in (("psnr", PSNR_COLOUR, y_psnr), ("ssim", SSIM_COLOUR, y_ssim)):
        segment: list[str] = []
        segments = []
        for i, p in enumerate(points):
            v = _finite(p.get(key))
            if v is None or math.isnan(v):
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{x_at(i):.1f},{y_of(v):.1f}")
        if segment:
            segments.append(segment)
        for seg in segments:
            if len(seg) > 1:
                out.append(
                    f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" '
                    'stroke-width="2"/>'
                )
        for i, p in enumerate(points):
            v = _finite(p.get(key))
            if v is None or math.isnan(v):
                continue
            shown = "∞" if math.isinf(v) else (f"{v:.2f}" if key == "psnr" else f"{v:.3f}")
            cx, cy = x_at(i), y_of(v)
            out.append(
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3.5" fill="{colour}">'
                f"<title>{escape(str(p.get('label', '')))} {key.upper()} {shown}</title>"
                "</circle>"
            )
            if math.isinf(v):
                out.append(
                    f'<text x="{cx + 5:.1f}" y="{cy + 4:.1f}" font-size="11" '
                    f'fill="{colour}">∞</text>'
                )
    # legend
    lx = m["left"]
    ly = h - 10
    out.append(
        f'<line x1="{lx}" x2="{lx + 18}" y1="{ly - 4}" y2="{ly - 4}" '
        f'stroke="{PSNR_COLOUR}" stroke-width="2"/>'
        f'<text x="{lx + 22}" y="{ly}" font-size="11" fill="#333">PSNR (dB, left)</text>'
    )
    lx += 130
    out.append(
        f'<line x1="{lx}" x2="{lx + 18}" y1="{ly - 4}" y2="{ly - 4}" '
        f'stroke="{SSIM_COLOUR}" stroke-width="2"/>'
        f'<text x="{lx + 22}" y="{ly}" font-size="11" fill="#333">SSIM (right)</text>'
    )
    out.append("</svg>")
    return "".join(out)
