"""Blender's elision mark in a screenshot of the sidebar: the cross-check of fits.py from the
pixels themselves.

Blender shortens a label that does not fit by cutting its middle and putting "…" there. In the
UI font that glyph is three small dots on the text's baseline, evenly spaced, with nothing above
them. This finds such triples among the "ink" pixels of a dark-theme screenshot (brighter than
the median of the 9 × 9 square around them by ``INK``): three
connected blobs at most ``3 × scale`` px wide and high, centres on one row (±1 px), 2–6 × scale
px apart with equal gaps (±1 px), and no other ink in a band above them (which tells them apart
from a colon, a photo thumbnail or anything drawn over several rows). The panel's own texts never
contain "…" or "..." (fits.py checks), so any triple found is Blender's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

INK = 0.2  # above the local background (grey levels 0..1): a glyph's pixel
FAINT = 0.12  # above it: still a glyph's anti-aliased edge


def _grey(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("L"), dtype=np.float32) / 255.0


def _background(grey: np.ndarray, size: int = 9) -> np.ndarray:
    """Each pixel's local background: the median of the ``size`` × ``size`` square around it."""
    pad = size // 2
    padded = np.pad(grey, pad, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, (size, size))
    return np.median(windows, axis=(2, 3))


def _clean_around(lift: np.ndarray, boxes) -> bool:
    """Only background in the one-pixel ring around the three dots and between them: whole
    dots, not the bright parts of larger, dimmer letters."""
    x0, y0 = min(b[0] for b in boxes) - 1, min(b[1] for b in boxes) - 1
    x1, y1 = max(b[2] for b in boxes) + 1, max(b[3] for b in boxes) + 1
    if x0 < 0 or y0 < 0 or y1 >= lift.shape[0] or x1 >= lift.shape[1]:
        return False
    region = lift[y0 : y1 + 1, x0 : x1 + 1].copy()
    for bx0, by0, bx1, by1 in boxes:
        region[by0 - y0 : by1 - y0 + 1, bx0 - x0 : bx1 - x0 + 1] = 0.0
    return bool((region <= FAINT).all())


def _blobs(ink: np.ndarray, max_size: int) -> list[tuple[int, int, int, int]]:
    """(x0, y0, x1, y1) of the 8-connected ink blobs no bigger than ``max_size`` each way."""
    h, w = ink.shape
    seen = np.zeros_like(ink)
    found = []
    ys, xs = np.nonzero(ink)
    for y, x in zip(ys.tolist(), xs.tolist(), strict=True):
        if seen[y, x]:
            continue
        stack, pixels = [(y, x)], []
        seen[y, x] = True
        while stack and len(pixels) <= max_size * max_size + 1:
            cy, cx = stack.pop()
            pixels.append((cy, cx))
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    ny, nx = cy + dy, cx + dx
                    if 0 <= ny < h and 0 <= nx < w and ink[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        stack.append((ny, nx))
        if stack:  # too big to be a dot: mark the rest seen and move on
            while stack:
                cy, cx = stack.pop()
                for dy in (-1, 0, 1):
                    for dx in (-1, 0, 1):
                        ny, nx = cy + dy, cx + dx
                        if 0 <= ny < h and 0 <= nx < w and ink[ny, nx] and not seen[ny, nx]:
                            seen[ny, nx] = True
                            stack.append((ny, nx))
            continue
        py = [p[0] for p in pixels]
        px = [p[1] for p in pixels]
        box = (min(px), min(py), max(px), max(py))
        if box[2] - box[0] < max_size and box[3] - box[1] < max_size:
            found.append(box)
    return found


def ellipses(path: Path, scale: float = 1.0) -> list[tuple[int, int]]:
    """(x, y) of each elision mark in the screenshot at ``path`` (taken at ``scale``)."""
    grey = _grey(path)
    lift = grey - _background(grey)
    ink = lift > INK
    dots = sorted(_blobs(ink, max(3, round(3 * scale))), key=lambda b: (b[1], b[0]))
    lo, hi = 2 * scale, 6.5 * scale
    marks = []
    centres = [((b[0] + b[2]) / 2, (b[1] + b[3]) / 2, b) for b in dots]
    for i, (x, y, box) in enumerate(centres):
        row = sorted(
            (c for c in centres[i:] if abs(c[1] - y) <= 1 and 0 < c[0] - x <= 2 * hi),
            key=lambda c: c[0],
        )
        if len(row) < 2:
            continue
        second, third = row[0], row[1]
        gap1, gap2 = second[0] - x, third[0] - second[0]
        if not (lo <= gap1 <= hi and abs(gap1 - gap2) <= 1):
            continue
        if not _clean_around(lift, (box, second[2], third[2])):
            continue
        x0, x1 = box[0] - 1, int(third[2][2]) + 2
        top = box[1] - round(8 * scale)
        if top < 0:
            continue  # at the picture's top edge (a scrolled sidebar): what is above is not seen
        if ink[top : box[1] - 1, max(0, x0) : x1].any():
            continue  # something above: a letter's part, a colon, a picture
        if ink[box[3] + 2 : box[3] + round(6 * scale), max(0, x0) : x1].any():
            continue  # something below: a grid of dots (a panel's grip)
        marks.append((int(x), int(y)))
    return marks
