"""The scene's view transform as a measured curve: scene-linear values <-> display values.

Closed forms that add light contributions need scene-linear pixels, but renders and photos are
display values after the view transform (AgX by default since Blender 4.0, Filmic, Standard…),
the look and the exposure. No OCIO processor is exposed to Python on every supported version, so
the curve is measured: a grey ramp of known linear values is saved through the scene's colour
management (``Image.save_render``, no render) and read back; inverting is interpolation. Grey
only: AgX's desaturation of bright, saturated colours is not captured, so closed forms built on
this curve are a first estimate that the search then finishes.
"""

from __future__ import annotations

import os
import tempfile

import bpy
import numpy as np

from ...common import metrics
from ..render.engine import SavedSettings

_RAMP = 512
_TOP = 256.0  # brightest linear value measured


class ToneCurve:
    """``to_linear(display)`` and ``to_display(linear)`` for the scene's colour management."""

    def __init__(self, linear: np.ndarray, display: np.ndarray) -> None:
        # keep a strictly increasing display axis for the inverse (flat tails are clipped)
        keep = np.concatenate([[True], np.diff(display) > 1e-6])
        self.linear = linear[keep]
        self.display = display[keep]
        self._forward_linear, self._forward_display = linear, display

    @classmethod
    def measure(cls, scene: bpy.types.Scene) -> ToneCurve:
        linear = np.concatenate([[0.0], np.geomspace(1e-4, _TOP, _RAMP - 1)]).astype(np.float32)
        image = bpy.data.images.new("viga_refine_ramp", _RAMP, 1, float_buffer=True, alpha=False)
        saved = SavedSettings()
        handle, path = tempfile.mkstemp(prefix="viga_ramp_", suffix=".png")
        os.close(handle)
        try:
            pixels = np.ones((_RAMP, 4), dtype=np.float32)
            pixels[:, :3] = linear[:, None]
            image.pixels.foreach_set(pixels.ravel())
            settings = scene.render.image_settings
            saved.set(settings, "file_format", "PNG")
            saved.set(settings, "color_mode", "RGB")
            saved.set(settings, "color_depth", "16")
            image.save_render(path, scene=scene)
            display = metrics.load_rgb(path)[0].mean(axis=1)
        finally:
            saved.restore()
            bpy.data.images.remove(image)
            os.remove(path)
        return cls(linear.astype(np.float64), np.maximum.accumulate(display.astype(np.float64)))

    def to_linear(self, display: np.ndarray) -> np.ndarray:
        return np.interp(display, self.display, self.linear)

    def to_display(self, linear: np.ndarray) -> np.ndarray:
        return np.interp(linear, self._forward_linear, self._forward_display).astype(np.float32)

    def saturation(self) -> float:
        """The display value above which the curve is (nearly) flat: clipped pixels."""
        return float(self.display[-1]) - 0.02
