"""Steps many real-window tests share: the offline demo made ready from the panel, a run
started with a click, screenshots of the sidebar once it has drawn the state."""

from __future__ import annotations

import json
import os
from pathlib import Path

import elision
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


def texts_cut(b: Blender, scale: float) -> tuple[dict, int]:
    """At resolution scale ``scale``, after a redraw: ({panel: [(text, needed px, available
    px)]} of the texts the add-on's panels draw that do not fit their space (fits.py), and how
    many file path fields show their value elided, as Blender does by design)."""
    if b.eval("bpy.context.preferences.view.ui_scale") != scale:
        b.exec(f"bpy.context.preferences.view.ui_scale = {scale}")
    b.eval("fits.reset()")
    fresh(b)
    return b.eval("fits.cut()"), b.eval("fits.values_cut()")


class Shots:
    """Numbered screenshots of the sidebar in a test's artifact folder. Each state shot is also
    checked at every scale of ``SCALES`` (a screenshot at each): no text the panels draw may be
    cut (fits.py), and the screenshot may show no more of Blender's elision marks than the
    file path fields that are elided by design (elision.py, the cross-check from the pixels).
    What was found goes to ``fits.json`` beside the screenshots and fails the test
    (``VIGA_GUI_FITS=record`` only records, to count them)."""

    def __init__(self, b: Blender, folder: Path):
        self.b, self.folder, self.n = b, folder, 0

    def __call__(self, name: str) -> Path:
        self.n += 1
        found = {}
        for scale in (*SCALES[1:], SCALES[0]):  # the default scale last: the state stays so
            cut, values = texts_cut(self.b, scale)
            suffix = "" if scale == SCALES[0] else f"@{scale}"
            path = self.b.screenshot(self.folder / f"{self.n:02d}-{name}{suffix}.png")
            marks = elision.ellipses(path, scale * self.b.geometry()["pixel_size"])
            found[scale] = {"cut": cut, "values_cut": values, "marks": marks}
        self._record(name, found)
        return path

    def _record(self, name: str, found: dict) -> None:
        report = self.folder / "fits.json"
        seen = json.loads(report.read_text()) if report.exists() else {}
        seen[f"{self.n:02d}-{name}"] = {str(k): v for k, v in found.items()}
        report.write_text(json.dumps(seen, indent=1))
        if os.environ.get("VIGA_GUI_FITS") == "record":
            return
        lines = []
        for scale, f in found.items():
            for panel, texts in f["cut"].items():
                lines += [
                    f"  at {scale}: {panel}: {t!r} needs {n} px, has {h}" for t, n, h in texts
                ]
            if len(f["marks"]) > f["values_cut"]:
                lines.append(
                    f"  at {scale}: {len(f['marks'])} elision marks in the screenshot at "
                    f"{f['marks']}, {f['values_cut']} from file path fields"
                )
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
    b.scroll(notches=40)  # the lowest sub-panels into view (a long panel pushes them below)
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
