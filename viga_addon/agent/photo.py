"""Load and normalise the reference photo (Pillow): RGB 8-bit PNG, huge photos downscaled."""

from __future__ import annotations

from pathlib import Path

from .errors import PhotoError

MAX_SIDE = 2048


def prepare_reference(src: str | Path, dst: str | Path, max_side: int = MAX_SIDE) -> dict:
    """Validate ``src`` and write it to ``dst`` as an 8-bit RGB PNG.

    Alpha is composited over mid grey, greyscale and 16-bit images become 8-bit RGB, and photos
    larger than ``max_side`` are downscaled (never refused). Returns size and what was done.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    src = Path(src)
    if not src.exists():
        raise PhotoError(f"photo not found: {src}")
    if src.is_dir():
        raise PhotoError(f"photo path is a folder, not an image: {src}")
    notes = []
    try:
        with Image.open(src) as im:
            im.load()
            original = im.size
            mode = im.mode
            im = ImageOps.exif_transpose(im)
            if mode in ("I;16", "I;16B", "I;16L", "I"):
                import numpy as np

                a = np.asarray(im, dtype=np.float64)
                peak = 65535.0 if a.max() > 255 else 255.0
                im = Image.fromarray((a / peak * 255.0 + 0.5).clip(0, 255).astype("uint8"))
                notes.append("16-bit converted to 8-bit")
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                rgba = im.convert("RGBA")
                bg = Image.new("RGBA", rgba.size, (128, 128, 128, 255))
                im = Image.alpha_composite(bg, rgba)
                notes.append("alpha composited over grey")
            if im.mode != "RGB":
                if im.mode in ("L", "1"):
                    notes.append("greyscale expanded to RGB")
                im = im.convert("RGB")
            if max(im.size) > max_side:
                im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
                notes.append(f"downscaled from {original[0]}x{original[1]}")
            dst = Path(dst)
            dst.parent.mkdir(parents=True, exist_ok=True)
            tmp = dst.with_name(f".{dst.name}.tmp")
            im.save(tmp, format="PNG")
            tmp.replace(dst)
            return {
                "width": im.size[0],
                "height": im.size[1],
                "source_mode": mode,
                "source_size": list(original),
                "notes": notes,
            }
    except UnidentifiedImageError as e:
        raise PhotoError(f"not an image Pillow can read: {src}") from e
    except OSError as e:
        raise PhotoError(f"cannot read photo {src}: {e}") from e
