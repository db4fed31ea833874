"""The refiner's objective: renders parameter vectors, scores them against the photo, caches.

Renders are tiny (64 px, 8 samples, fixed seed, denoised) so the objective is deterministic and
smooth enough; they are cached by parameter vector. The loss is (1 - SSIM) + 10 (MSE + MSE of a
4x coarser image), on the photo's frame (when the aspect ratios differ the render's centre crop is
compared). The best state seen is tracked; ``active`` limits which search directions the
coordinate search may still take.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Sequence
from typing import TypeVar

import bpy
import numpy as np

from ...common import metrics
from ..render import engine as render
from .params import Param, RefineError

DEFAULT_LONG_SIDE = 64
DEFAULT_SAMPLES = 8
MAX_BUDGET = 1000
MIN_SIDE = 16  # SSIM needs 11 px; keep a margin


T = TypeVar("T")
Steps = Generator[int, None, T]  # a refinement step: yields the render count after each render


class Stop(Exception):
    """Internal: the render budget is spent or the caller cancelled."""


def linear(display: np.ndarray) -> np.ndarray:
    """Approximate scene-linear values from display values (inverse sRGB curve)."""
    return np.where(display <= 0.04045, display / 12.92, ((display + 0.055) / 1.055) ** 2.4)


def _coarse(image: np.ndarray, factor: int = 4) -> np.ndarray:
    h, w = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    cut = image[:h, :w]
    return cut.reshape(h // factor, factor, w // factor, factor, -1).mean(axis=(1, 3))


def image_loss(render_rgb: np.ndarray, photo_rgb: np.ndarray) -> dict:
    """{"loss", "psnr", "ssim"} of a render against the photo (same shape, display values)."""
    mse = float(np.mean((render_rgb - photo_rgb) ** 2))
    coarse = float(np.mean((_coarse(render_rgb) - _coarse(photo_rgb)) ** 2))
    coarser = float(np.mean((_coarse(render_rgb, 8) - _coarse(photo_rgb, 8)) ** 2))
    s = metrics.ssim(render_rgb, photo_rgb)
    return {
        "loss": (1.0 - s) + 10.0 * (mse + coarse),
        "coarse_loss": coarse + coarser,
        "psnr": metrics.psnr(render_rgb, photo_rgb),
        "ssim": s,
    }


class Objective:
    """Renders parameter vectors (internal coordinates), scores them, caches, tracks the best."""

    def __init__(
        self,
        params: list[Param],
        photo_path: str | os.PathLike,
        budget: int,
        workdir: str,
        long_side: int,
        samples: int,
        device: str,
        progress: Callable[[dict], bool | None] | None = None,
    ) -> None:
        self.params = params
        self.budget = budget
        self.workdir = workdir
        self.samples = samples
        self.device = device
        self.progress = progress
        self.cache: dict[tuple, dict] = {}
        self.renders = 0
        self.render_seconds = 0.0
        self.phase = "start"
        self.history: list[dict] = []
        self.best: dict | None = None
        self.coarse = False  # rank by the blurred-image loss (wider basins for geometry)
        self.cancelled = False
        self.original = [p.get() for p in params]
        self.start_u = self.flatten_values(self.original)
        self.low = np.array([p.low for p in params for _ in range(p.size)])
        self.high = np.array([p.high for p in params for _ in range(p.size)])
        self.directions = self._directions()
        # which directions the coordinate search may take (the locate step narrows placement
        # to the objects it found misplaced)
        self.active = np.ones(len(self.directions), dtype=bool)
        self.notes: list[str] = []
        self.located = False  # placement already found in the photo: no blurred-loss phase
        self._prepare_frame(photo_path, long_side)

    def _directions(self) -> list[tuple[np.ndarray, float, bool]]:
        """Search directions over the whole vector: each parameter's own, or its axes."""
        out, offset, n = [], 0, sum(p.size for p in self.params)
        for p in self.params:
            local = p.directions or [
                ([1.0 if i == j else 0.0 for j in range(p.size)], p.step, True)
                for i in range(p.size)
            ]
            for vector, step, primary in local:
                full = np.zeros(n)
                full[offset : offset + p.size] = vector
                out.append((full, step, primary))
            offset += p.size
        return out

    # -- frame and photo
    def _prepare_frame(self, photo_path, long_side):
        try:
            photo = metrics.load_rgb(photo_path)
        except (OSError, ValueError) as exc:
            raise RefineError(
                f"cannot read the photo {photo_path}: {exc}. Give a PNG or JPEG file."
            ) from exc
        scene = bpy.context.scene
        photo_aspect = photo.shape[1] / photo.shape[0]
        self.note = ""
        while True:
            width, height = render._resolution(scene, long_side)
            self.cropped = abs((width / height) / photo_aspect - 1.0) > metrics.ASPECT_TOLERANCE
            crop = (
                metrics._centre_crop(np.zeros((height, width, 1)), photo_aspect)
                if self.cropped
                else np.zeros((height, width, 1))
            )
            if min(crop.shape[:2]) >= MIN_SIDE or long_side >= 512:
                break
            long_side *= 2
        self.long_side = long_side
        self.render_size = (width, height)
        self.size = (crop.shape[1], crop.shape[0])
        if self.cropped:
            self.note = (
                f"The photo ({photo.shape[1]}x{photo.shape[0]}) and the camera frame "
                f"({scene.render.resolution_x}x{scene.render.resolution_y}) differ in "
                f"aspect ratio: compared the render's centre crop with the whole photo. "
                "Set the render resolution to the photo's aspect ratio to compare the "
                "full frame."
            )
        self.photo_full = photo
        self.photo = metrics._resize(photo, self.size)

    def frame(self, image: np.ndarray) -> np.ndarray:
        """A render cut to the photo's frame (its centre crop when the aspects differ)."""
        if self.cropped:
            image = metrics._centre_crop(image, self.size[0] / self.size[1])
        if image.shape[1] != self.size[0] or image.shape[0] != self.size[1]:
            image = metrics._resize(image, self.size)
        return image

    # -- vectors
    def flatten_values(self, values: Sequence[Sequence[float]]) -> np.ndarray:
        return np.array(
            [c for p, v in zip(self.params, values, strict=True) for c in p.to_internal(v)]
        )

    def split(self, u: np.ndarray) -> list[list[float]]:
        out, i = [], 0
        for p in self.params:
            out.append(list(u[i : i + p.size]))
            i += p.size
        return out

    def clip(self, u: np.ndarray) -> np.ndarray:
        return np.minimum(np.maximum(u, self.low), self.high)

    def apply(self, u: np.ndarray) -> None:
        if np.array_equal(u, self.start_u):
            self.apply_original()
            return
        for p, coords in zip(self.params, self.split(u), strict=True):
            p.set(p.from_internal(coords))

    def apply_original(self) -> None:
        for p, values in zip(self.params, self.original, strict=True):
            p.set(values)

    def values(self, u: np.ndarray) -> dict[str, list[float]]:
        return {
            p.name: [round(float(v), 4) for v in p.from_internal(c)]
            for p, c in zip(self.params, self.split(u), strict=True)
        }

    # -- evaluation
    def render_count_left(self) -> int:
        return self.budget - self.renders

    def spend(self) -> None:
        if self.cancelled or self.renders >= self.budget:
            raise Stop()
        self.renders += 1

    def evaluate(self, u: np.ndarray | Sequence[float]) -> Steps[dict]:
        """Render the scene at ``u`` (cached) and return its record with loss and image.

        A generator, like every step that renders: it yields once after its render (``yield
        from`` it), so the whole refinement can be driven one render at a time."""
        u = self.clip(np.asarray(u, dtype=float))
        key = tuple(np.round(u, 6))
        if key in self.cache:
            return self.cache[key]
        self.apply(u)
        path = self._render_budgeted()
        image = self.frame(metrics.load_rgb(path))
        record = {
            "u": u,
            "image": image,
            "path": path,
            "render": self.renders,
            "phase": self.phase,
            **image_loss(image, self.photo),
        }
        self.cache[key] = record
        if self.best is None or self.score(record) < self.score(self.best):
            self.best = record
        self.history.append({k: record[k] for k in ("render", "phase", "loss", "psnr", "ssim")})
        self._report(record)
        yield self.renders
        return record

    def score(self, record: dict) -> float:
        """The loss the search currently ranks by."""
        return record["coarse_loss"] if self.coarse else record["loss"]

    def set_coarse(self, coarse: bool) -> None:
        """Switch the ranking loss; the best is re-chosen among every render so far."""
        self.coarse = coarse
        if self.cache:
            self.best = min(self.cache.values(), key=self.score)

    def spend_extra(self, phase: str) -> None:
        """Count a render that is not an evaluation (the object-ID pass)."""
        self.spend()
        self.history.append({"render": self.renders, "phase": phase})
        self._report()

    def _render_budgeted(self) -> str:
        """Spend one budget render of the scene as it stands; the image's path."""
        self.spend()
        path = os.path.join(self.workdir, f"render_{self.renders:04d}.png")
        result = render.render(
            "preview", path=path, long_side=self.long_side, samples=self.samples, device=self.device
        )
        if not result.get("ok"):
            raise RefineError(f"render failed: {result.get('error')}")
        self.render_seconds += result["seconds"]
        return path

    def render_raw(self, phase: str) -> Steps[np.ndarray]:
        """Render the scene as it stands now (not a parameter vector): one budget render,
        returned on the photo's frame. The caller sets the scene up and puts it back."""
        path = self._render_budgeted()
        self.history.append({"render": self.renders, "phase": phase})
        self._report()
        yield self.renders
        return self.frame(metrics.load_rgb(path))

    def crop_fractions(self) -> tuple[float, float]:
        """Which fraction of the render's width and height the compared frame covers."""
        if not self.cropped:
            return 1.0, 1.0
        w, h = self.render_size
        render_aspect, photo_aspect = w / h, self.size[0] / self.size[1]
        if render_aspect > photo_aspect:
            return photo_aspect / render_aspect, 1.0
        return 1.0, render_aspect / photo_aspect

    def _report(self, record=None):
        """Tell ``progress`` about a render (an evaluation, or a raw render: the best so far)."""
        if self.progress is None or self.best is None:
            return
        record = record or self.best
        info = {
            "renders": self.renders,
            "budget": self.budget,
            "phase": self.phase,
            "loss": self.score(record),
            "best_loss": self.score(self.best),
            "psnr": record["psnr"],
            "ssim": record["ssim"],
        }
        if self.progress(info) is False:
            self.cancelled = True
