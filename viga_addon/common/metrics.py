"""Image similarity between a render and the reference photo: PSNR and SSIM (numpy + Pillow).

No bpy here: the module is imported by plain Python (tests, the run report) as well as by Blender.

Conventions
- Images are float32 arrays of shape (H, W, 3) holding display values (sRGB-encoded, as stored
  in PNG/JPEG files) in [0, 1]; data range is 1.0.
- ``psnr`` returns ``math.inf`` for identical images (no cap); ``json.dumps`` writes it as
  ``Infinity``, so callers that need strict JSON must map it themselves.
- ``ssim`` is the usual Wang et al. (2004) definition: Gaussian window 11x11, sigma 1.5,
  K1 = 0.01, K2 = 0.03, population (not sample) covariance, computed on each RGB channel
  separately and averaged (the per-channel mean, not luminance). The map is evaluated only where
  the whole window lies inside the image, i.e. a 5-pixel border is left out; this equals
  ``skimage.metrics.structural_similarity(a, b, channel_axis=2, data_range=1.0,
  gaussian_weights=True, sigma=1.5, use_sample_covariance=False)``.
- Masks are boolean (H, W) arrays (True = compare this pixel) or image files (white = compare).
  In ``compare`` the mask is given in the coordinates of the photo.
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03
DATA_RANGE = 1.0
Image = np.ndarray | str | os.PathLike  # an RGB float array in [0, 1], or an image file
Mask = np.ndarray | str | os.PathLike  # bool (H, W), or an image file (white: counts)
Size = int | tuple[int, int]  # longest side, or (width, height)
Background = tuple[float, float, float] | tuple[int, int, int]

DEFAULT_BACKGROUND = (0.0, 0.0, 0.0)
ASPECT_TOLERANCE = 0.01  # relative difference below which two aspect ratios count as equal


# ---------------------------------------------------------------------------------------------
# Loading


def _background_rgb(background) -> np.ndarray:
    """Background as three floats in [0, 1]; 0-255 integers are accepted too."""
    values = np.asarray(background, dtype=np.float64).reshape(-1)
    if values.size == 1:
        values = np.repeat(values, 3)
    if values.size != 3:
        raise ValueError(f"background must be 3 values (r, g, b), got {background!r}")
    if values.max() > 1.0:
        values = values / 255.0
    return values.astype(np.float32)


def _pixels_and_alpha(image) -> tuple[np.ndarray, np.ndarray | None]:
    """(H, W, 3) colour in [0, 1] and an optional (H, W) alpha in [0, 1] from a Pillow image."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        grey = np.asarray(image, dtype=np.float32) / 65535.0
        return np.repeat(grey[..., None], 3, axis=2), None
    if mode == "I":
        # Pillow opens 16-bit greyscale PNGs as 32-bit "I" in some versions.
        grey = np.asarray(image, dtype=np.float32)
        scale = 65535.0 if grey.max(initial=0) > 255 or image.format == "PNG" else 255.0
        grey = np.clip(grey / scale, 0.0, 1.0)
        return np.repeat(grey[..., None], 3, axis=2), None
    if mode == "F":
        grey = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
        return np.repeat(grey[..., None], 3, axis=2), None
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        mode == "P" and "transparency" in image.info
    )
    if has_alpha:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
        return rgba[..., :3], rgba[..., 3]
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return rgb, None


def _resize(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an (H, W) or (H, W, C) float array to size=(width, height) in float precision."""
    from PIL import Image

    width, height = size
    if array.shape[1] == width and array.shape[0] == height:
        return array
    channels = array[..., None] if array.ndim == 2 else array
    resized = [
        np.asarray(
            Image.fromarray(
                np.ascontiguousarray(channels[..., c], dtype=np.float32), mode="F"
            ).resize((width, height), Image.Resampling.BICUBIC)
        )
        for c in range(channels.shape[2])
    ]
    out = np.clip(np.stack(resized, axis=2), 0.0, 1.0)
    return out[..., 0] if array.ndim == 2 else out


def _normalise_size(size, shape) -> tuple[int, int] | None:
    """size may be None, an int (longest side) or (width, height)."""
    if size is None:
        return None
    if isinstance(size, int):
        height, width = shape[:2]
        scale = size / max(height, width)
        return max(1, round(width * scale)), max(1, round(height * scale))
    width, height = (int(v) for v in size)
    if width < 1 or height < 1:
        raise ValueError(f"size must be positive, got {size!r}")
    return width, height


def load_rgb(
    path: str | os.PathLike,
    size: Size | None = None,
    background: Background = DEFAULT_BACKGROUND,
) -> np.ndarray:
    """Load an image file as a float32 (H, W, 3) array of display values in [0, 1].

    Alpha (RGBA, LA, palette transparency) is composited over ``background`` (three floats in
    [0, 1] or 0-255 integers). Greyscale is repeated into three channels; 16-bit greyscale is
    scaled by 65535 (full precision); 16-bit RGB(A) PNGs, e.g. Blender renders saved with colour
    depth 16, arrive from Pillow at 8-bit precision. ``size`` is None (keep), an int (longest side) or (width, height).
    """
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        rgb, alpha = _pixels_and_alpha(image)
    if alpha is not None:
        a = alpha[..., None]
        rgb = rgb * a + _background_rgb(background) * (1.0 - a)
    target = _normalise_size(size, rgb.shape)
    if target is not None:
        rgb = _resize(rgb, target)
    return np.ascontiguousarray(rgb, dtype=np.float32)


def load_mask(mask: Mask | None, shape: tuple[int, ...] | None = None) -> np.ndarray | None:
    """A boolean (H, W) mask from an array or an image file (pixels brighter than 0.5 = True).

    ``shape`` (H, W), when given, resizes an image mask to it and checks an array mask against it.
    """
    if mask is None:
        return None
    if isinstance(mask, (str, os.PathLike)):
        grey = load_rgb(mask).mean(axis=2)
        if shape is not None and grey.shape != tuple(shape[:2]):
            grey = _resize(grey, (shape[1], shape[0]))
        return grey > 0.5
    array = np.asarray(mask)
    if array.ndim == 3:
        array = array[..., 0] if array.shape[2] == 1 else array.mean(axis=2)
    array = (
        array.astype(bool)
        if array.dtype == bool
        else array > 0.5 * max(1.0, float(array.max(initial=0)))
    )
    if shape is not None and array.shape != tuple(shape[:2]):
        raise ValueError(
            f"mask shape {array.shape} does not match the image shape {tuple(shape[:2])}"
        )
    return array


# ---------------------------------------------------------------------------------------------
# Metrics


def _as_pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}; resize them first")
    if a.ndim == 2:
        a, b = a[..., None], b[..., None]
    return a, b


def psnr(a: Image, b: Image, mask: Mask | None = None) -> float:
    """Peak signal-to-noise ratio in dB (data range 1.0); ``math.inf`` when the images are equal.

    With ``mask`` (bool (H, W)) only the masked pixels count.
    """
    a, b = _as_pair(a, b)
    squared = (a - b) ** 2
    m = load_mask(mask, a.shape)
    if m is not None:
        if not m.any():
            raise ValueError("mask selects no pixels")
        squared = squared[m]
    mse = float(squared.mean())
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(DATA_RANGE**2 / mse)


def _gaussian_kernel(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    return kernel / kernel.sum()


def _filter_valid(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Separable 2-D filter of (H, W, C) keeping only positions where the window fits."""
    n = kernel.size
    rows = image.shape[0] - n + 1
    cols = image.shape[1] - n + 1
    vertical = sum(kernel[k] * image[k : k + rows] for k in range(n))
    return sum(kernel[k] * vertical[:, k : k + cols] for k in range(n))


def ssim_map(a: Image, b: Image) -> np.ndarray:
    """Per-pixel, per-channel SSIM of shape (H-10, W-10, C) (window centres inside the image)."""
    a, b = _as_pair(a, b)
    if min(a.shape[:2]) < SSIM_WINDOW:
        raise ValueError(
            f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels, got {a.shape[1]}x{a.shape[0]}"
        )
    kernel = _gaussian_kernel()
    mu_a = _filter_valid(a, kernel)
    mu_b = _filter_valid(b, kernel)
    var_a = _filter_valid(a * a, kernel) - mu_a * mu_a
    var_b = _filter_valid(b * b, kernel) - mu_b * mu_b
    cov = _filter_valid(a * b, kernel) - mu_a * mu_b
    c1 = (SSIM_K1 * DATA_RANGE) ** 2
    c2 = (SSIM_K2 * DATA_RANGE) ** 2
    numerator = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    denominator = (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    return numerator / denominator


def ssim(a: Image, b: Image, mask: Mask | None = None) -> float:
    """Mean SSIM over RGB channels (see the module docstring); 1.0 for identical images.

    With ``mask`` (bool (H, W)) the map is averaged over masked window centres only.
    """
    values = ssim_map(a, b)
    m = load_mask(mask, np.shape(a))
    if m is not None:
        pad = SSIM_WINDOW // 2
        inner = m[pad : m.shape[0] - pad, pad : m.shape[1] - pad]
        if not inner.any():
            raise ValueError("mask selects no pixels at least 5 px away from the image border")
        values = values[inner]
    return float(values.mean(dtype=np.float64))


# ---------------------------------------------------------------------------------------------
# Render vs photo


def _centre_crop(image: np.ndarray, aspect: float) -> np.ndarray:
    """Largest centred crop of image with width / height == aspect (rounded to whole pixels)."""
    height, width = image.shape[:2]
    if width / height > aspect:
        new_width = max(1, round(height * aspect))
        left = (width - new_width) // 2
        return image[:, left : left + new_width]
    new_height = max(1, round(width / aspect))
    top = (height - new_height) // 2
    return image[top : top + new_height]


def compare(
    render_path: str | os.PathLike,
    photo_path: str | os.PathLike,
    size: Size | None = None,
    mask: Mask | None = None,
    background: Background = DEFAULT_BACKGROUND,
) -> dict:
    """PSNR and SSIM of a render against the reference photo, at a common size.

    The photo defines the frame: when the aspect ratios differ by more than 1 %, the render is
    cut to its centre crop with the photo's aspect ratio and ``note`` says so. ``size`` is None
    (the smaller of the two, in pixels), an int (longest side) or (width, height). ``mask`` is a
    bool array or image in photo coordinates (any resolution of the photo's aspect).
    Returns {"ok", "psnr", "ssim", "size": [w, h], "render_size", "photo_size", "cropped",
    "note", "masked_fraction"} or {"ok": False, "error"} when a file cannot be read.
    """
    try:
        render = load_rgb(render_path, background=background)
        photo = load_rgb(photo_path, background=background)
    except (OSError, ValueError) as exc:
        return {
            "ok": False,
            "error": f"cannot read image: {exc}. Check that both paths point to PNG/JPEG files.",
        }
    render_h, render_w = render.shape[:2]
    photo_h, photo_w = photo.shape[:2]
    photo_aspect = photo_w / photo_h
    render_aspect = render_w / render_h
    note = ""
    cropped = abs(render_aspect / photo_aspect - 1.0) > ASPECT_TOLERANCE
    if cropped:
        render = _centre_crop(render, photo_aspect)
        note = (
            f"aspect ratios differ (render {render_w}x{render_h}, photo {photo_w}x{photo_h}): "
            f"compared the render's centre crop {render.shape[1]}x{render.shape[0]} with the whole "
            "photo; set the render resolution to the photo's aspect ratio to compare the full frame"
        )
    if size is None:
        smaller = render if render.size < photo.size else photo
        target = (smaller.shape[1], smaller.shape[0])
    else:
        target = _normalise_size(size, photo.shape)
    render = _resize(render, target)
    photo = _resize(photo, target)
    try:
        if isinstance(mask, (str, os.PathLike)):
            m = load_mask(mask, photo.shape)
        elif mask is not None:
            m = load_mask(mask)
            if m.shape != photo.shape[:2]:
                m = _resize(m.astype(np.float32), target) > 0.5
        else:
            m = None
        result_psnr = psnr(render, photo, m)
        result_ssim = ssim(render, photo, m)
    except (OSError, ValueError) as exc:
        return {"ok": False, "error": f"cannot compare: {exc}"}
    return {
        "ok": True,
        "psnr": result_psnr,
        "ssim": result_ssim,
        "size": list(target),
        "render_size": [render_w, render_h],
        "photo_size": [photo_w, photo_h],
        "cropped": cropped,
        "note": note,
        "masked_fraction": 1.0 if m is None else float(m.mean()),
    }


# ---------------------------------------------------------------------------------------------
# Learned metrics: report only, never download


def _cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def _hf_hub_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("HF_HUB_CACHE"):
        dirs.append(Path(os.environ["HF_HUB_CACHE"]))
    hf_home = Path(os.environ.get("HF_HOME") or _cache_root() / "huggingface")
    dirs.append(hf_home / "hub")
    return dirs


def _torch_hub_dir() -> Path:
    return Path(os.environ.get("TORCH_HOME") or _cache_root() / "torch") / "hub"


def _first_existing(patterns: list[tuple[Path, str]]) -> str | None:
    for root, pattern in patterns:
        if root.is_dir():
            for hit in sorted(root.glob(pattern)):
                if hit.is_file() and hit.stat().st_size > 0:
                    return str(hit)
    return None


def _installed(*names: str) -> list[str]:
    found = []
    for name in names:
        try:
            if importlib.util.find_spec(name) is not None:
                found.append(name)
        except (ImportError, ValueError):
            pass
    return found


def learned_metrics_available(extra_dirs: Sequence[str | os.PathLike] = ()) -> dict:
    """Which learned similarity metrics could run here, without downloading anything.

    For CLIP, DINO, LPIPS and DreamSim, returns {"available": bool, "reason": str, "weights":
    path-or-None}. A metric counts as available only when its Python packages are importable
    and its weights are already on disk (Hugging Face / torch hub caches, ``~/.cache/clip``,
    ``extra_dirs``). Nothing is imported or fetched: unavailable metrics must be reported as
    such, never scored as zero.
    """
    torch_hub = _torch_hub_dir()
    hf_dirs = _hf_hub_dirs()
    extra = [Path(d) for d in extra_dirs]

    def anywhere(pattern: str) -> list[tuple[Path, str]]:
        return [(d, pattern) for d in extra]

    specs = {
        "clip": {
            "packages": [("torch",), ("open_clip", "clip", "transformers")],
            "weights": [(d, "models--openai--clip-vit*/snapshots/*/*") for d in hf_dirs]
            + [(d, "models--laion--CLIP*/snapshots/*/*") for d in hf_dirs]
            + [(_cache_root() / "clip", "*.pt")]
            + anywhere("**/*clip*"),
        },
        "dino": {
            "packages": [("torch",)],
            "weights": [(torch_hub / "checkpoints", "dino*.pth")]
            + [(d, "models--facebook--dino*/snapshots/*/*") for d in hf_dirs]
            + anywhere("**/dino*"),
        },
        "lpips": {
            "packages": [("torch",), ("lpips",)],
            "weights": [
                (torch_hub / "checkpoints", "alexnet-*.pth"),
                (torch_hub / "checkpoints", "vgg16-*.pth"),
            ]
            + anywhere("**/alexnet-*.pth")
            + anywhere("**/vgg16-*.pth"),
        },
        "dreamsim": {
            "packages": [("torch",), ("dreamsim",)],
            "weights": [(_cache_root() / "dreamsim", "**/*.pt*"), (Path("models"), "**/*dreamsim*")]
            + anywhere("**/*dreamsim*"),
        },
    }
    report = {}
    for name, spec in specs.items():
        missing = [" or ".join(group) for group in spec["packages"] if not _installed(*group)]
        weights = _first_existing(spec["weights"])
        if missing:
            reason = f"package not installed: {', '.join(missing)}"
        elif weights is None:
            reason = "no local weights found (downloads are disabled)"
        else:
            reason = "packages and local weights found"
        report[name] = {
            "available": not missing and weights is not None,
            "reason": reason,
            "weights": weights,
        }
    return report
