"""Load an image part from disk, downscale it and encode it for a request (Pillow, no bpy)."""

from __future__ import annotations

import base64
import io
import os
from functools import lru_cache

from ..errors import InvalidRequest
from ..messages import MAX_IMAGE_SIDE


def encode_image(path: str, max_side: int = MAX_IMAGE_SIDE) -> tuple[str, str]:
    """(media_type, base64 data) of the image at ``path``, long side at most ``max_side``.

    Images with transparency become RGBA PNG, JPEG sources stay JPEG, the rest RGB PNG.
    Raises InvalidRequest when the file is missing or not an image.
    """
    try:
        stat = os.stat(path)
    except OSError:
        raise InvalidRequest(f"Image not found: {path}") from None
    return _encode_cached(os.path.abspath(path), stat.st_mtime_ns, stat.st_size, int(max_side))


@lru_cache(maxsize=32)  # the reference photo is sent every turn; encode it once
def _encode_cached(path: str, _mtime: int, _size: int, max_side: int) -> tuple[str, str]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            source_format = img.format
            img.load()
            has_alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
            img = img.convert("RGBA" if has_alpha else "RGB")
    except (OSError, UnidentifiedImageError) as exc:
        raise InvalidRequest(f"Cannot read image {path}: {exc}") from None
    if max(img.size) > max_side:
        scale = max_side / max(img.size)
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        img = img.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    if source_format == "JPEG" and not has_alpha:
        img.save(buffer, format="JPEG", quality=90)
        media_type = "image/jpeg"
    else:
        img.save(buffer, format="PNG", optimize=False)
        media_type = "image/png"
    return media_type, base64.b64encode(buffer.getvalue()).decode("ascii")
