"""Loaded into the Blender under test (``blender --python tests/gui/blender_rpc.py``): lets the
test read Blender's state and geometry while xdotool gives it real input.

- A JSON-lines server on 127.0.0.1 (its port written to ``$VIGA_GUI_RPC/port``), served from a
  ``bpy.app.timers`` callback on Blender's main thread: ``{"expr": …}`` is evaluated, ``{"exec":
  …}`` executed, with the helpers below in scope. An error comes back as a reply, never as a
  traceback in Blender's output (which fails the test).
- A window modal handler that records the last mouse position Blender has handled, so a probe
  knows its mouse move has arrived (see ``probe``). It passes every event on.
- ``probe()``: the button under the mouse as Blender's own UI sees it (the region's active
  button: its Python command for an operator, its data path for a property). The test finds
  buttons by moving the mouse and asking, never from fixed pixels.

Nothing here drives the add-on: the test clicks, types and presses keys with xdotool.
"""

import json
import os
import socket
import sys
import time
import traceback

import bpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fits  # noqa: E402  (tests/gui/fits.py: does each text fit its space?)

RPC_DIR = os.environ["VIGA_GUI_RPC"]
_STATE = {"mouse": None, "seq": 0, "tracking": False, "clients": []}


# ----------------------------------------------------------------------------- mouse tracker
class VIGAGUI_OT_track(bpy.types.Operator):
    """Test harness: remember the last mouse position Blender handled (passes events on)"""

    bl_idname = "viga_gui.track"
    bl_label = "Track the mouse (test harness)"

    def invoke(self, context, event):
        context.window_manager.modal_handler_add(self)
        _STATE["tracking"] = True
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type in {"MOUSEMOVE", "INBETWEEN_MOUSEMOVE"}:
            _STATE["mouse"] = (event.mouse_x, event.mouse_y)
            _STATE["seq"] += 1
        return {"PASS_THROUGH"}

    def cancel(self, context):
        _STATE["tracking"] = False


@bpy.app.handlers.persistent
def _after_load(*_args):
    _STATE["tracking"] = False  # loading a file drops the window's modal handlers


def _ensure_tracker():
    wm = bpy.context.window_manager
    if _STATE["tracking"] or not wm.windows:
        return
    window = wm.windows[0]
    with bpy.context.temp_override(window=window, screen=window.screen):
        bpy.ops.viga_gui.track("INVOKE_DEFAULT")


# ----------------------------------------------------------------------------- geometry
def window():
    return bpy.context.window_manager.windows[0]


def area_of(kind="VIEW_3D", win=None):
    win = win or window()
    for area in win.screen.areas:
        if area.type == kind:
            return area
    return None


def view3d(win=None):
    return area_of("VIEW_3D", win)


def region_of(area, kind="UI"):
    for region in area.regions:
        if region.type == kind:
            return region
    return None


def _rect(r):
    return {"x": r.x, "y": r.y, "width": r.width, "height": r.height}


def geometry(area_type="VIEW_3D"):
    """The window, an area (the 3D Viewport by default) and its regions (window pixels, origin
    bottom-left)."""
    win = window()
    area = area_of(area_type, win)
    space = area.spaces.active if area else None
    out = {
        "window": {"x": win.x, "y": win.y, "width": win.width, "height": win.height},
        "ui_scale": bpy.context.preferences.system.ui_scale,
        "pixel_size": bpy.context.preferences.system.pixel_size,
        "area": _rect(area) if area else None,
        "regions": {},
        "sidebar": bool(space is not None and getattr(space, "show_region_ui", False)),
    }
    if area:
        for region in area.regions:
            info = _rect(region)
            category = getattr(region, "active_panel_category", None)
            if category is not None:
                info["category"] = category
            out["regions"][region.type] = info
    return out


def set_area_type(old, new):
    """Test set-up: turn the first area of type ``old`` into a ``new`` editor."""
    area = area_of(old)
    area.type = new
    return True


def active_button(kind="UI", area_type="VIEW_3D"):
    """The button Blender's UI has active (hovered) in region ``kind`` of the first area of
    ``area_type``."""
    win = window()
    area = area_of(area_type, win)
    region = region_of(area, kind) if area else None
    if region is None:
        return None
    wm = bpy.context.window_manager
    saved = wm.clipboard
    found = {}
    with bpy.context.temp_override(window=win, screen=win.screen, area=area, region=region):
        for key, op, kwargs in (
            ("op", bpy.ops.ui.copy_python_command_button, {}),
            ("path", bpy.ops.ui.copy_data_path_button, {"full_path": True}),
        ):
            wm.clipboard = ""
            try:
                if op.poll():
                    op(**kwargs)
            except RuntimeError:
                pass
            if wm.clipboard:
                found[key] = wm.clipboard
        prop = getattr(bpy.context, "property", None)  # (owner, data path, index)
        if prop and "path" not in found:
            owner, data_path = prop[0], prop[1]
            found["path"] = f"{type(owner).__name__}.{data_path}"
    wm.clipboard = saved
    return found or None


def probe(kind="UI"):
    return {"mouse": _STATE["mouse"], "seq": _STATE["seq"], "button": active_button(kind)}


def mouse():
    return {"mouse": _STATE["mouse"], "seq": _STATE["seq"], "tracking": _STATE["tracking"]}


# ----------------------------------------------------------------------------- what panels draw
_DRAWN = {}  # panel idname -> {"n": draws so far, "tree": the layout's introspection}


def _record_draw(self, context):
    """Appended to each of the add-on's panels: what the panel put in its layout this draw."""
    entry = _DRAWN.setdefault(self.bl_idname, {"n": 0, "tree": None})
    entry["n"] += 1
    entry["tree"] = self.layout.introspect()


def _hook_panels():
    for name in dir(bpy.types):
        if name.startswith("VIGA_PT_"):
            cls = getattr(bpy.types, name)
            if _record_draw not in getattr(cls, "_dyn_ui_initialize", lambda: [])():
                cls.append(_record_draw)


def _strings(tree, out):
    if isinstance(tree, dict):
        if tree.get("draw_string"):
            out.append(tree["draw_string"])
        for item in tree.get("items", ()):
            _strings(item, out)
    elif isinstance(tree, list):
        for item in tree:
            _strings(item, out)
    return out


def drawn(panel=None):
    """{panel idname: {"n", "texts"}} of the add-on's panels as last drawn."""
    return {
        name: {"n": entry["n"], "texts": _strings(entry["tree"], [])}
        for name, entry in _DRAWN.items()
        if panel is None or name == panel
    }


def draws():
    return {name: entry["n"] for name, entry in _DRAWN.items()}


def redraw_sidebar():
    area = view3d()
    if area:
        for region in area.regions:
            region.tag_redraw()


# ----------------------------------------------------------------------------- the add-on
def addon():
    """The add-on's package as the extension system imported it (bl_ext.<repo>.viga_addon)."""
    for name, module in sys.modules.items():
        if name.startswith("bl_ext.") and name.endswith(".viga_addon"):
            return module
    return sys.modules.get("viga_addon")


def addon_module(sub):
    base = addon()
    return sys.modules.get(f"{base.__name__}.{sub}") if base else None


def live():
    """The live run as the panel sees it (None without one)."""
    rt = addon_module("ui.live")
    run = rt.any_live_run() if rt else None
    if run is None:
        return None
    state = run.session.state
    return {
        "status": str(state.status),
        "phase": str(state.phase),
        "stage": state.current_stage,
        "round": state.stages[state.current_stage].round if state.current_stage else 0,
        "message": state.message,
        "error_type": state.error_type,
        "error": run.error,
        "pumping": run.pumping,
        "finished": run.session.finished,
        "run_dir": str(run.session.run_dir),
        "scene": run.scene_name,
    }


# ----------------------------------------------------------------------------- server
NS = {
    "bpy": bpy,
    "geometry": geometry,
    "active_button": active_button,
    "probe": probe,
    "mouse": mouse,
    "addon": addon,
    "addon_module": addon_module,
    "live": live,
    "drawn": drawn,
    "draws": draws,
    "redraw_sidebar": redraw_sidebar,
    "window": window,
    "view3d": view3d,
    "area_of": area_of,
    "set_area_type": set_area_type,
    "region_of": region_of,
    "time": time,
    "fits": fits,
}


def _jsonable(value):
    try:
        json.dumps(value)
        return value
    except TypeError:
        return repr(value)


def _handle(request: dict) -> dict:
    try:
        if "expr" in request:
            return {"ok": True, "value": _jsonable(eval(request["expr"], NS))}
        exec(request["exec"], NS)
        return {"ok": True, "value": _jsonable(NS.pop("result", None))}
    except BaseException:  # noqa: BLE001 - every error goes back to the test
        return {"ok": False, "error": traceback.format_exc()}


def _serve():
    try:
        _ensure_tracker()
        _hook_panels()
        fits.watch()
    except Exception:  # noqa: BLE001 - no window yet; try again on the next tick
        pass
    while True:
        try:
            conn, _ = _SERVER.accept()
        except BlockingIOError:
            break
        conn.setblocking(False)
        _STATE["clients"].append([conn, b""])
    for client in list(_STATE["clients"]):
        conn = client[0]
        try:
            data = conn.recv(1 << 20)
        except BlockingIOError:
            continue
        except OSError:
            data = b""
        if not data:
            _STATE["clients"].remove(client)
            conn.close()
            continue
        client[1] += data
        while b"\n" in client[1]:
            line, client[1] = client[1].split(b"\n", 1)
            reply = _handle(json.loads(line))
            conn.setblocking(True)
            conn.sendall(json.dumps(reply).encode() + b"\n")
            conn.setblocking(False)
    return 0.005


_SERVER = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
_SERVER.bind(("127.0.0.1", 0))
_SERVER.listen(4)
_SERVER.setblocking(False)
bpy.utils.register_class(VIGAGUI_OT_track)
bpy.app.handlers.load_post.append(_after_load)
bpy.app.timers.register(_serve, first_interval=0.0, persistent=True)
_port_file = os.path.join(RPC_DIR, "port")
with open(_port_file + ".tmp", "w") as f:
    f.write(str(_SERVER.getsockname()[1]))
os.replace(_port_file + ".tmp", _port_file)
