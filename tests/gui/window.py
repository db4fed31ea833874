"""Drive a real Blender window: start it in Xvfb, give it real input with xdotool, read its
state over the RPC of ``blender_rpc.py``, take screenshots, and read its output.

Every wait is for a state with a time limit (``wait_for``), never a fixed sleep. Buttons are
found by moving the real mouse over the sidebar and asking Blender which button it has active
there (``find``); tabs by clicking down the sidebar's tab strip until Blender's region says the
tab is active. Pixel positions come from Blender's region geometry, never from constants.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
RPC_SCRIPT = HERE / "blender_rpc.py"
SCREEN = (1280, 1024)

# Lines Blender (not our code) prints in this set-up; anything else that looks like an error or
# a warning fails the test.
BLENDER_NOISE = (
    re.compile(r"^Could not get a list of mounted file-systems"),
    re.compile(r"^Color management: "),
    re.compile(r"^Warning: could not find a default OCIO"),
    re.compile(r"^ALSA lib "),
    re.compile(r"^AL lib: "),
    re.compile(r"^Warning: Unable to open .*alsa", re.I),
    re.compile(r"^connect\(2\) call to /dev/shm/jack"),
    re.compile(r"^attempt to connect to server failed"),
    re.compile(r"^Unable to open a display"),
)
STOPPED = frozenset({"paused", "review", "failed", "cancelled", "done"})
SUSPECT = re.compile(r"Traceback|Error|ERROR|WARN|Warning|warning:|Exception")


class GuiError(AssertionError):
    """A wait ran out or Blender misbehaved; the message says what was expected and seen."""


def wait_for(fn, timeout: float, what: str, interval: float = 0.05, detail=None):
    """Call ``fn`` until it returns something truthy; GuiError naming ``what`` after
    ``timeout`` seconds (with the last value seen, and ``detail()`` when given)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() > deadline:
            more = f"; {detail()!r}" if detail else ""
            raise GuiError(
                f"timed out after {timeout:.0f} s waiting for {what}; last: {last!r}{more}"
            )
        time.sleep(interval)


class XServer:
    """One Xvfb for a test session, on the first display free of a live X server (the lock
    and socket a killed Xvfb left behind are cleared)."""

    def __init__(self, box, workdir: Path):
        self.box = box
        self.display = None
        for n in range(91, 140):
            if not _display_free(n):
                continue
            log = str(workdir / f"xvfb-{n}.log")
            w, h = SCREEN
            self.pid = box.spawn(
                ["Xvfb", f":{n}", "-screen", "0", f"{w}x{h}x24", "-nolisten", "tcp"], log=log
            )
            try:
                wait_for(
                    lambda n=n: (
                        Path(f"/tmp/.X11-unix/X{n}").exists() or box.poll(self.pid) is not None
                    ),
                    30,
                    f"Xvfb :{n}",
                )
            except GuiError:
                box.kill(self.pid, 9)
                raise
            if box.poll(self.pid) is None:
                self.display = f":{n}"
                return
        raise GuiError("no free X display between :91 and :139")

    def close(self):
        """End Xvfb and wait for it, so it removes its lock and socket itself."""
        self.box.kill(self.pid)
        try:
            wait_for(lambda: self.box.poll(self.pid) is not None, 10, "Xvfb to end")
        except GuiError:
            self.box.kill(self.pid, 9)


def _display_free(n: int) -> bool:
    """No live X server holds display ``n`` (a dead one's lock file and socket are removed)."""
    lock, socket_path = Path(f"/tmp/.X{n}-lock"), Path(f"/tmp/.X11-unix/X{n}")
    if lock.exists():
        try:
            pid = int(lock.read_text().strip())
            os.kill(pid, 0)
            return False  # a live server (ours or another's)
        except (ValueError, ProcessLookupError):
            pass
        except PermissionError:
            return False
        except OSError:
            return False
        lock.unlink(missing_ok=True)
        socket_path.unlink(missing_ok=True)
    return not socket_path.exists()


@dataclass
class Found:
    x: int  # screen pixels
    y: int
    button: dict


class Blender:
    """One Blender with a window, started by the test and killed at its end."""

    # (area, region, op or path) -> (x, y) where it was last seen, by any Blender of this
    # session: the same screen and layout put a button in the same place (always verified)
    _positions: dict[tuple, tuple[int, int]] = {}

    def __init__(self, box, xserver, home: Path, workdir: Path, args=(), env=None):
        self.box = box
        self.x = xserver
        self.home = home
        self.workdir = workdir
        self.rpc_dir = workdir / "rpc"
        self.rpc_dir.mkdir(parents=True, exist_ok=True)
        (self.rpc_dir / "port").unlink(missing_ok=True)
        self.log_path = workdir / "blender.log"
        self.env = {
            "HOME": str(home),
            "DISPLAY": xserver.display,
            "VIGA_GUI_RPC": str(self.rpc_dir),
            "VIGA_GUI_SESSION": workdir.name,
            "LANG": "C.UTF-8",
            **(env or {}),
        }
        w, h = SCREEN
        argv = [
            box.spec.blender,
            "--window-geometry",
            "0",
            "0",
            str(w),
            str(h),
            "--python",
            str(RPC_SCRIPT),
            *args,
        ]
        self.log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.pid = box.spawn(argv, env=self.env, log=str(self.log_path))
        self._sock = None
        self._buf = b""
        self._offset = None  # (ox, C): screen x = bx + ox, screen y = C - by
        self.find_seconds: list[float] = []
        self.connect()

    # ------------------------------------------------------------------ rpc
    def connect(self, timeout: float = 120):
        port_file = self.rpc_dir / "port"
        wait_for(
            lambda: port_file.exists() or self.exited(),
            timeout,
            "Blender to start and open its test port",
        )
        if self.exited():
            raise GuiError(
                f"Blender exited at start (code {self.returncode})\n{self.log()[-3000:]}"
            )
        self._sock = socket.create_connection(("127.0.0.1", int(port_file.read_text())))
        self._sock.settimeout(60)
        wait_for(lambda: self.eval("mouse()['tracking']"), 60, "the window and its mouse tracker")

    def _call(self, request: dict):
        self._sock.sendall(json.dumps(request).encode() + b"\n")
        while b"\n" not in self._buf:
            chunk = self._sock.recv(1 << 20)
            if not chunk:
                raise GuiError(f"Blender closed the test port\n{self.log()[-3000:]}")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        reply = json.loads(line)
        if not reply["ok"]:
            raise GuiError(f"in Blender: {reply['error']}")
        return reply["value"]

    def eval(self, expr: str):
        return self._call({"expr": expr})

    def exec(self, code: str):
        """Run statements in Blender (set-up and reading state only); ``result`` comes back."""
        return self._call({"exec": code})

    def live(self) -> dict | None:
        return self.eval("live()")

    def wait_live(self, pred, timeout: float, what: str) -> dict:
        """Wait until the live run's state satisfies ``pred`` (a dict -> bool)."""
        seen = [None]

        def check():
            state = seen[0] = self.live()
            if state is None:
                return None
            if state.get("error"):
                raise GuiError(f"the run stopped with an error: {state['error']}")
            return state if pred(state) else None

        try:
            return wait_for(check, timeout, what, interval=0.1)
        except GuiError as e:
            raise GuiError(f"{e}; the run: {seen[0]}") from None

    def wait_status(self, *statuses: str, timeout: float = 300) -> dict:
        """Wait for the run to be in one of ``statuses``; a run that stops in another state
        (they wait for the artist) fails at once."""

        def reached(state):
            if state["status"] in statuses:
                return True
            if state["status"] in STOPPED and not state["pumping"] or state["finished"]:
                raise GuiError(f"the run stopped as {state['status']}, not {statuses}: {state}")
            return False

        return self.wait_live(reached, timeout, f"status {statuses}")

    # ------------------------------------------------------------------ process
    @property
    def returncode(self):
        return self.box.poll(self.pid)

    def exited(self) -> bool:
        return self.returncode is not None

    def log(self) -> str:
        try:
            return self.log_path.read_bytes()[self.log_start :].decode(errors="replace")
        except FileNotFoundError:
            return ""

    def suspect_lines(self) -> list[str]:
        """Lines of Blender's output that look like a traceback, an error or a warning and are
        not Blender's own known noise."""
        out = []
        for line in self.log().splitlines():
            if SUSPECT.search(line) and not any(p.search(line) for p in BLENDER_NOISE):
                out.append(line)
        return out

    def close(self):
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None
        if not self.exited():
            self.box.kill(self.pid, 15)
            try:
                wait_for(self.exited, 10, "Blender to end")
            except GuiError:
                self.box.kill(self.pid, 9)

    # ------------------------------------------------------------------ input
    def xdo(self, *args: str) -> str:
        done = self.box.run(["xdotool", *map(str, args)], env={"DISPLAY": self.x.display})
        if done["rc"] != 0:
            raise GuiError(f"xdotool {' '.join(map(str, args))}: {done['err']}")
        return done["out"]

    def _calibrate(self):
        """Screen <-> window pixels, from where Blender says the mouse is after two moves."""
        if self._offset is not None:
            return self._offset
        g = self.eval("geometry()")
        sx, sy = g["window"]["width"] // 2, g["window"]["height"] // 2

        def settled():
            first = self.eval("mouse()")
            time.sleep(0.1)
            again = self.eval("mouse()")
            return first["mouse"] if first["mouse"] and first["seq"] == again["seq"] else None

        self.xdo("mousemove", sx, sy)
        p1 = wait_for(settled, 20, "Blender to see the mouse")
        self.xdo("mousemove", sx + 7, sy + 5)
        wait_for(
            lambda: self.eval("mouse()")["mouse"] == [p1[0] + 7, p1[1] - 5],
            20,
            "Blender to see a mouse move of (7, 5)",
        )
        self._offset = (sx - p1[0], sy + p1[1])
        return self._offset

    def to_screen(self, bx: float, by: float) -> tuple[int, int]:
        ox, c = self._calibrate()
        return int(bx) + ox, c - int(by)

    def move(self, bx: float, by: float) -> None:
        """Move the real mouse to window pixel (bx, by) and wait until Blender has handled it
        (two moves a pixel apart: a button left on the first is entered on the second)."""
        sx, sy = self.to_screen(bx, by)
        self.xdo("mousemove", sx - 1, sy, "mousemove", sx, sy)
        target = [int(bx), int(by)]
        seen = []

        def arrived():
            seen[:] = [self.eval("mouse()")["mouse"]]
            return seen[0] == target

        try:
            wait_for(arrived, 20, f"the mouse at {target}", interval=0.005)
        except GuiError as e:
            raise GuiError(f"{e}; Blender saw the mouse at {seen}") from None

    def click_window(self, bx: float, by: float, button: int = 1) -> None:
        self.move(bx, by)
        self.xdo("click", button)

    def key(self, *keys: str) -> None:
        """Real key presses (xdotool names: Escape, ctrl+z, Return, n, …) at the mouse."""
        self.xdo("key", "--clearmodifiers", *keys)

    def type_text(self, text: str) -> None:
        self.xdo("type", "--delay", "20", text)

    # ------------------------------------------------------------------ the sidebar
    def geometry(self, area: str = "VIEW_3D") -> dict:
        return self.eval(f"geometry({area!r})")

    def sidebar(self) -> dict:
        g = self.geometry()
        region = g["regions"].get("UI")
        if not g["sidebar"] or not region or region["width"] <= 1:
            raise GuiError("the sidebar is not open")
        return region

    def show_sidebar(self) -> None:
        """Open the 3D Viewport's sidebar with N, as an artist does (mouse over the view)."""
        g = self.geometry()
        if g["sidebar"] and g["regions"]["UI"]["width"] > 1:
            return
        view = g["regions"]["WINDOW"]
        self.move(view["x"] + view["width"] * 0.4, view["y"] + view["height"] * 0.5)
        self.key("n")
        wait_for(lambda: self.geometry()["regions"]["UI"]["width"] > 50, 20, "the sidebar to open")

    def open_tab(self, name: str = "VIGA") -> None:
        """Click down the sidebar's tab strip until Blender says ``name`` is the active tab."""
        self.show_sidebar()
        region = self.sidebar()
        if region.get("category") == name:
            return
        scale = self.geometry()["ui_scale"]
        x = region["x"] + region["width"] - 10 * scale
        top = region["y"] + region["height"] - 4
        y = top
        while y > region["y"] + 10:
            self.click_window(x, y)
            try:
                wait_for(lambda: self.sidebar().get("category") == name, 0.3, "")
                return
            except GuiError:
                y -= 12 * scale
        raise GuiError(f"no tab {name!r} on the sidebar's tab strip")

    def _probe(self, bx: int, by: int, kind: str, area: str) -> dict:
        """Move the mouse to window pixel (bx, by); the button Blender has active there."""
        self.move(bx, by)
        button = self.eval(f"active_button({kind!r}, {area!r})") or {}
        for key in ("op", "path"):
            if key in button:
                Blender._positions[(area, kind, button[key])] = (bx, by)
        return button

    @staticmethod
    def _matches(button: dict, op: str | None, path: str | None) -> bool:
        return bool(
            (op and op in button.get("op", "")) or (path and path in button.get("path", ""))
        )

    def find(
        self,
        op: str | None = None,
        path: str | None = None,
        kind: str = "UI",
        columns=(0.5, 0.85, 0.15, 0.95, 0.68, 0.32),
        area: str = "VIEW_3D",
        nth: int = 0,
        scrolls: int = 4,
        lowest: bool = False,
    ) -> Found:
        """The first button (top to bottom) whose Python command contains ``op`` (e.g.
        "bpy.ops.viga.pause(") or whose data path contains ``path``, found by moving the mouse
        down the region in columns and asking Blender what is under it.

        Where a button was seen before is tried first (one probe); a step of 18 px (a button
        is 20 px tall at scale 1) cannot miss a button in a column. ``nth``: the n-th such
        button down the column (0: the first), e.g. the second of two fields of one property.
        A button out of view is brought into it with the mouse wheel, as an artist scrolls a
        long sidebar: from its top, then down (``scrolls`` times). ``lowest``: the sidebar is scrolled to
        its end and walked bottom-up, for the last of several buttons of one property."""
        g = self.geometry(area)
        region, scale = g["regions"][kind], g["ui_scale"]
        step = max(8, int(18 * scale))
        if lowest:
            self.scroll(area, kind, notches=40)
            scrolls = -1
        for key, (bx, by) in list(Blender._positions.items()) if nth == 0 and not lowest else ():
            if key[:2] != (area, kind) or not self._matches(
                {"op": key[2], "path": key[2]}, op, path
            ):
                continue
            # where it was last time (this or an earlier Blender), then a few rows around it
            for dy in (0, step, -step, 2 * step, -2 * step, 3 * step, -3 * step):
                y = by + dy
                if region["y"] < y < region["y"] + region["height"]:
                    button = self._probe(bx, y, kind, area)
                    if self._matches(button, op, path):
                        return Found(*self.to_screen(bx, y), button)
        strip = 22 * scale if kind == "UI" else 0  # the tab strip on the sidebar's right edge
        seen = []
        for scroll in range(scrolls + 2):
            if scroll == 1:
                self.scroll(area, kind, notches=40, up=True)  # from the top of the sidebar
            elif scroll > 1:
                self.scroll(area, kind, notches=6)
            for fraction in columns:
                bx = int(region["x"] + 4 + (region["width"] - strip - 8) * fraction)
                top, bottom = region["y"] + region["height"] - 4, region["y"] + 3
                by, direction = (bottom, step) if lowest else (top, -step)
                matches, inside = 0, False
                while bottom <= by <= top:
                    button = self._probe(bx, by, kind, area)
                    if button:
                        seen.append(button)
                    hit = self._matches(button, op, path)
                    if hit and not inside:
                        if matches == nth:
                            return Found(*self.to_screen(bx, by), button)
                        matches += 1
                    inside = hit
                    by += direction
        raise GuiError(f"no button {op or path!r} in {area}'s {kind} region; saw {seen[-12:]}")

    def scroll(self, area: str = "VIEW_3D", kind: str = "UI", notches: int = 6, up=False):
        """Turn the mouse wheel over a region (down by default)."""
        r = self.geometry(area)["regions"][kind]
        self.move(r["x"] + r["width"] // 2, r["y"] + r["height"] // 2)
        self.xdo("click", "--repeat", notches, "--delay", 30, 4 if up else 5)
        Blender._positions.clear()  # what was seen has moved

    def click(self, op: str | None = None, path: str | None = None, **kw) -> Found:
        """Find a button as ``find`` does and click it with the real mouse."""
        t0 = time.monotonic()
        found = self.find(op, path, **kw)
        self.xdo("click", 1)  # the mouse is on it already
        self.find_seconds.append(time.monotonic() - t0)
        return found

    # ------------------------------------------------------------------ screenshots
    def screenshot(self, path: Path, region: str | None = "UI") -> Path:
        """The screen, cropped to ``region`` of the 3D Viewport (None: the whole screen)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        argv = ["import", "-window", "root"]
        if region:
            r = self.geometry()["regions"][region]
            left, top = self.to_screen(r["x"], r["y"] + r["height"] - 1)
            argv += ["-crop", f"{r['width']}x{r['height']}+{left}+{top}", "+repage"]
        done = self.box.run([*argv, str(path)], env={"DISPLAY": self.x.display})
        if done["rc"] != 0:
            raise GuiError(f"screenshot failed: {done['err']}")
        return path


def processes_of(session: str) -> list[tuple[int, str]]:
    """(pid, command) of every process whose environment carries VIGA_GUI_SESSION=session."""
    found = []
    marker = f"VIGA_GUI_SESSION={session}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found.append((int(entry.name), cmd.strip()))
        except OSError:
            continue
    return found


ADDON_KEY = "bl_ext.user_default.viga_addon"

SET_PREFS = """
p = bpy.context.preferences.addons[{key!r}].preferences
for name, value in {values!r}.items():
    setattr(p, name, value)
"""


def set_prefs(b: Blender, **values) -> None:
    """Set the add-on's preferences (test set-up, not input)."""
    b.exec(SET_PREFS.format(key=ADDON_KEY, values=values))
