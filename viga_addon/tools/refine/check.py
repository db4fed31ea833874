""" "Never worse" where the user looks: the start and the result rendered at the photo's settings.

The search ranks 64 px / 8-sample previews, where a result can look better than it is at full
size (or the other way round). So the start is rendered once, before anything changes, at the
photo's own long side (at most ``MAX_CHECK_SIDE``) and ``check_samples``, and the result once at
the end at the same settings; the result is kept only when its loss is lower and its PSNR no
lower there. These two renders are not counted in the budget.
"""

from __future__ import annotations

import os

from ...common import metrics
from ..render import engine as render
from .objective import Objective, Steps, image_loss
from .params import RefineError

DEFAULT_CHECK_SAMPLES = 32
MAX_CHECK_SIDE = 1024


class Check:
    """The start's and the end's figures at the check settings; ``keeps_end()`` decides."""

    def __init__(
        self, obj: Objective, photo_path: str | os.PathLike, long_side: int | None, samples: int
    ) -> None:
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise RefineError(f"check_samples must be a whole number >= 1, got {samples!r}")
        photo = metrics.load_rgb(photo_path)
        if long_side is None:
            long_side = min(max(photo.shape[:2]), MAX_CHECK_SIDE)
        if isinstance(long_side, bool) or not isinstance(long_side, int) or long_side < 0:
            raise RefineError(f"check_long_side must be a whole number of px, got {long_side!r}")
        self.obj = obj
        self.enabled = long_side > 0
        self.long_side = max(long_side, 16) if self.enabled else 0
        self.samples = samples
        self.photo_full = photo
        self.start: dict | None = None
        self.end: dict | None = None
        self.note = ""

    def _measure(self, tag: str) -> Steps[dict]:
        path = os.path.join(self.obj.workdir, f"check_{tag}.png")
        result = render.render(
            "preview",
            path=path,
            long_side=self.long_side,
            samples=self.samples,
            device=self.obj.device,
        )
        if not result.get("ok"):
            raise RefineError(f"render failed: {result.get('error')}")
        self.obj.render_seconds += result["seconds"]
        yield self.obj.renders
        image = metrics.load_rgb(path)
        aspect = self.photo_full.shape[1] / self.photo_full.shape[0]
        if abs((image.shape[1] / image.shape[0]) / aspect - 1.0) > metrics.ASPECT_TOLERANCE:
            image = metrics._centre_crop(image, aspect)
        photo = metrics._resize(self.photo_full, (image.shape[1], image.shape[0]))
        figures = image_loss(image, photo)
        return {k: float(figures[k]) for k in ("loss", "psnr", "ssim")}

    def measure_start(self) -> Steps[None]:
        if self.enabled:
            self.start = yield from self._measure("start")

    def keeps_end(self) -> Steps[bool]:
        """Render the scene as it is now (the result); False when it is worse than the start."""
        if not self.enabled or self.start is None:
            return True
        self.end = yield from self._measure("end")
        s, e = self.start, self.end
        keep = e["loss"] < s["loss"] and e["psnr"] >= s["psnr"] - 1e-9
        if not keep:
            self.note = (
                f"At the photo's settings ({self.long_side} px, {self.samples} samples) the "
                f"result scored PSNR {e['psnr']:.2f} dB / SSIM {e['ssim']:.3f} against "
                f"{s['psnr']:.2f} / {s['ssim']:.3f} at the start: kept the start."
            )
        return keep

    def figures(self) -> dict | None:
        if not self.enabled:
            return None
        rounded = {
            key: None if value is None else {k: round(v, 4) for k, v in value.items()}
            for key, value in (("start", self.start), ("end", self.end))
        }
        return {**rounded, "long_side": self.long_side, "samples": self.samples}
