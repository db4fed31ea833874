"""Steps many real-window tests share: the offline demo made ready from the panel, a run
started with a click, screenshots of the sidebar once it has drawn the state."""

from __future__ import annotations

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


class Shots:
    """Numbered screenshots of the sidebar in a test's artifact folder."""

    def __init__(self, b: Blender, folder: Path):
        self.b, self.folder, self.n = b, folder, 0

    def __call__(self, name: str) -> Path:
        self.n += 1
        fresh(self.b)
        return self.b.screenshot(self.folder / f"{self.n:02d}-{name}.png")


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
