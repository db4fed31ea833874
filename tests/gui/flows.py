"""Steps many real-window tests share: the offline demo made ready from the panel, a run
started with a click, screenshots of the sidebar once it has drawn the state."""

from __future__ import annotations

import json
import os
from pathlib import Path

from scripts import TINY_PREFS, demo_script, write
from window import Blender, set_prefs, wait_for


def ready_demo(b: Blender, folder: Path, script: dict | None = None, **prefs) -> None:
    """Tiny renders and the demo script (set-up), then the VIGA tab and *Try the Offline Demo*
    clicked as an artist does."""
    set_prefs(b, demo_script=write(folder, script or demo_script()), **{**TINY_PREFS, **prefs})
    b.open_tab("VIGA")
    b.click(op="bpy.ops.viga.use_demo_photo(")
    wait_for(lambda: b.eval("bpy.context.scene.viga.provider") == "scripted", 10, "the demo chosen")


def start_run(b: Blender) -> dict:
    b.click(op="bpy.ops.viga.run(")
    return b.wait_live(lambda s: True, 60, "the run to start")


def drawn_texts(b: Blender, panel: str = "VIGA_PT_main") -> list[str]:
    """What ``panel`` drew in a redraw made after this call."""
    fresh(b)
    return b.eval(f"drawn({panel!r})").get(panel, {}).get("texts", [])


def fresh(b: Blender) -> None:
    """Wait until the sidebar has redrawn after now (the next screenshot shows this state)."""
    before = sum(b.eval("draws()").values())
    b.eval("redraw_sidebar()")
    wait_for(lambda: sum(b.eval("draws()").values()) > before, 20, "the sidebar to redraw")


SCALES = (1.0, 1.25)  # the default resolution scale, and one a step larger


def texts_cut(b: Blender, scale: float) -> dict:
    """{panel: [(text, needed px, available px)]} of the texts the add-on's panels draw that do
    not fit their space (tests/gui/fits.py) at resolution scale ``scale``, after a redraw."""
    if b.eval("bpy.context.preferences.view.ui_scale") != scale:
        b.exec(f"bpy.context.preferences.view.ui_scale = {scale}")
    b.eval("fits.reset()")
    fresh(b)
    return b.eval("fits.cut()")


class Shots:
    """Numbered screenshots of the sidebar in a test's artifact folder. Each state shot is also
    checked for texts that do not fit the sidebar (at every scale of ``SCALES``; a screenshot
    at the larger one too): what is cut is written to ``fits.json`` beside the screenshots and
    fails the test (``VIGA_GUI_FITS=record`` only records, to count them)."""

    def __init__(self, b: Blender, folder: Path):
        self.b, self.folder, self.n = b, folder, 0

    def __call__(self, name: str) -> Path:
        self.n += 1
        cut = {}
        for scale in SCALES[1:]:
            cut[scale] = texts_cut(self.b, scale)
            self.b.screenshot(self.folder / f"{self.n:02d}-{name}@{scale}.png")
        cut[SCALES[0]] = texts_cut(self.b, SCALES[0])
        path = self.b.screenshot(self.folder / f"{self.n:02d}-{name}.png")
        self._record(name, cut)
        return path

    def _record(self, name: str, cut: dict) -> None:
        report = self.folder / "fits.json"
        seen = json.loads(report.read_text()) if report.exists() else {}
        seen[f"{self.n:02d}-{name}"] = {str(k): v for k, v in cut.items()}
        report.write_text(json.dumps(seen, indent=1))
        if os.environ.get("VIGA_GUI_FITS") == "record":
            return
        lines = [
            f"  at {scale}: {panel}: {text!r} needs {need} px, has {have}"
            for scale, panels in cut.items()
            for panel, texts in panels.items()
            for text, need, have in texts
        ]
        assert not lines, f"texts cut in state {name!r}:\n" + "\n".join(lines)


def panel_is_open(b: Blender, idname: str) -> bool:
    """Blender draws a panel's content only while it is open: after a redraw, did it draw?"""
    before = b.eval("draws()")
    fresh(b)
    return b.eval("draws()").get(idname, 0) > before.get(idname, 0)


def open_panel(b: Blender, idname: str) -> None:
    """Open a closed sub-panel as an artist can: the mouse over its header and A (Blender's key
    for opening and closing the panel under the mouse). Headers are not buttons, so the
    sidebar is walked bottom-up (the add-on's last sub-panels are lowest); a header of another
    panel closed on the way is opened again at once."""
    if panel_is_open(b, idname):
        return
    region = b.sidebar()
    scale = b.geometry()["ui_scale"]
    x = region["x"] + region["width"] * 0.35
    y = region["y"] + 6
    while y < region["y"] + region["height"] - 6:
        b.move(x, y)
        before = b.eval("draws()")
        b.key("a")
        fresh(b)
        after = b.eval("draws()")
        if after.get(idname, 0) > before.get(idname, 0):
            return
        closed = [n for n, c in before.items() if after.get(n, 0) == c and n != idname]
        if closed and not all(panel_is_open(b, n) for n in closed):
            b.key("a")  # that was another panel's header: open it again
        y += 16 * scale
    raise AssertionError(f"no header of {idname} found on the sidebar")
