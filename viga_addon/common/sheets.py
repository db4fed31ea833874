"""Images made for the model to judge from (Pillow, no bpy): the photo beside an attempt at
equal height, and a labelled sheet of a stage's attempts with their metrics."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

GAP = 8  # pixels between the pictures
BAND = 22  # pixels of the label band under each picture
BACKGROUND = (40, 40, 40)
LABEL = (235, 235, 235)


@dataclass(frozen=True)
class Tile:
    """One labelled picture of a sheet."""

    path: str | Path
    label: str


def _open(path: str | Path, height: int) -> Image.Image:
    with Image.open(path) as im:
        rgb = im.convert("RGB")
    width = max(1, round(rgb.width * height / rgb.height))
    return rgb.resize((width, height), Image.LANCZOS)


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow before 10.1: one bitmap size
        return ImageFont.load_default()


def _compose(rows: list[list[Image.Image]], labels: list[list[str]], out: Path) -> Path:
    font = _font(14)
    width = max(sum(im.width for im in row) + GAP * (len(row) + 1) for row in rows)
    height = sum(row[0].height + BAND + GAP for row in rows) + GAP
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    y = GAP
    for row, row_labels in zip(rows, labels, strict=True):
        x = GAP
        for im, text in zip(row, row_labels, strict=True):
            sheet.paste(im, (x, y))
            draw.text((x + 4, y + im.height + 3), text, fill=LABEL, font=font)
            x += im.width + GAP
        y += row[0].height + BAND + GAP
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp.png")
    sheet.save(tmp, "PNG")
    tmp.replace(out)
    return out


def side_by_side(photo: str | Path, render: str | Path, out: str | Path, label: str) -> Path:
    """The photo (left) and ``render`` (right) at the render's height, labelled; returns ``out``."""
    with Image.open(render) as im:
        height = im.height
    tiles = [_open(photo, height), _open(render, height)]
    return _compose([tiles], [["photo", label]], Path(out))


def contact_sheet(
    photo: str | Path, tiles: Sequence[Tile], out: str | Path, cell: int = 256, columns: int = 3
) -> Path:
    """The photo, then every tile, ``columns`` to a row, each ``cell`` px high and labelled."""
    pictures = [_open(photo, cell)] + [_open(t.path, cell) for t in tiles]
    texts = ["photo"] + [t.label for t in tiles]
    rows = math.ceil(len(pictures) / columns)
    grid = [pictures[r * columns : (r + 1) * columns] for r in range(rows)]
    labels = [texts[r * columns : (r + 1) * columns] for r in range(rows)]
    return _compose(grid, labels, Path(out))


def labelled_sheet(
    tiles: Sequence[Tile], out: str | Path, cell: int = 256, columns: int = 3
) -> Path:
    """Every tile, ``columns`` to a row, each ``cell`` px high and labelled (an interaction's
    frames); returns ``out``."""
    pictures = [_open(t.path, cell) for t in tiles]
    texts = [t.label for t in tiles]
    rows = math.ceil(len(pictures) / columns)
    grid = [pictures[r * columns : (r + 1) * columns] for r in range(rows)]
    labels = [texts[r * columns : (r + 1) * columns] for r in range(rows)]
    return _compose(grid, labels, Path(out))


def metrics_label(name: str, metrics: dict | None) -> str:
    """``"round 2 · 24.1 dB · SSIM 0.83"`` (what a tile says of an attempt)."""
    m = metrics or {}
    parts = [name]
    if isinstance(m.get("psnr"), int | float):
        parts.append(f"{m['psnr']:.1f} dB")
    if isinstance(m.get("ssim"), int | float):
        parts.append(f"SSIM {m['ssim']:.2f}")
    return " · ".join(parts)


def strip(tiles: Sequence[Tile], out: str | Path, cell: int = 256) -> Path:
    """``tiles`` in one row, each ``cell`` px high and labelled (e.g. frames of a simulation)."""
    return _compose([[_open(t.path, cell) for t in tiles]], [[t.label for t in tiles]], Path(out))
