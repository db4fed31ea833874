"""Shared helpers of the UI tests (no tests here): a recording layout, fake window-manager,
context and events, an operator harness around the modal pump, and the add-on fixture.

Headless Blender never runs modal operators (timers do not fire, INVOKE_DEFAULT runs execute),
so the modal code is driven by calling its methods with these small fakes.
"""

from __future__ import annotations

import copy
import json
import time
import types

import bpy  # isort: skip  (addon_utils is importable once bpy is)

from viga_addon.demo import tabletop
from viga_addon.ui import live as rt
from viga_addon.ui.operators import pump

ADDON = "viga_addon"


# ----------------------------------------------------------------------------- recording layout
_ICONS = {
    i.identifier for i in bpy.types.UILayout.bl_rna.functions["label"].parameters["icon"].enum_items
}


def _check_icon(icon):
    assert icon in _ICONS, f"no icon {icon!r} in this Blender"


def _operator_rna(idname):
    category, name = idname.split(".")
    op = getattr(getattr(bpy.ops, category), name)
    try:
        return op.get_rna_type()
    except KeyError:
        raise AssertionError(f"operator {idname} is not registered") from None


class OpProps:
    """What ``layout.operator`` returns: records the properties set on it (which must exist)."""

    def __init__(self, rna=None):
        object.__setattr__(self, "props", {})
        object.__setattr__(self, "rna", rna)

    def __setattr__(self, name, value):
        if self.rna is not None:
            assert name in self.rna.properties, f"{self.rna.identifier} has no property {name}"
        self.props[name] = value


class RecordingLayout:
    """A fake ``UILayout`` that records every call; containers return child recorders."""

    def __init__(self, items=None, depth=0, parent=None):
        object.__setattr__(self, "items", items if items is not None else [])
        object.__setattr__(self, "depth", depth)
        object.__setattr__(self, "parent", parent)
        object.__setattr__(self, "attrs", {})

    def __setattr__(self, name, value):  # enabled, alert, scale_y, use_property_split, …
        self.attrs[name] = value

    def __getattr__(self, name):
        if name in ("enabled", "active"):
            return self.attrs.get(name, True)
        if name in ("alert",):
            return self.attrs.get(name, False)
        raise AttributeError(name)

    def _flag(self, name, default):
        node = self
        while node is not None:
            if name in node.attrs and node.attrs[name] != default:
                return node.attrs[name]
            node = node.parent
        return default

    def _add(self, kind, **data):
        item = {
            "kind": kind,
            "depth": self.depth,
            "enabled": self._flag("enabled", True),
            "alert": self._flag("alert", False),
            **data,
        }
        self.items.append(item)
        return item

    def _child(self, kind, indent=0):
        if kind == "box":
            self._add("box")
        return RecordingLayout(self.items, self.depth + indent, self)

    def row(self, **_kw):
        return self._child("row")

    def column(self, **_kw):
        return self._child("column")

    def split(self, **_kw):
        return self._child("split")

    def grid_flow(self, **_kw):
        return self._child("grid")

    def box(self):
        return self._child("box", indent=1)

    def label(self, text="", icon="NONE", **_kw):
        _check_icon(icon)
        self._add("label", text=text, icon=icon)

    def prop(self, data, prop, text=None, icon="NONE", **kw):
        _check_icon(icon)
        assert prop in data.bl_rna.properties, f"{type(data).__name__} has no property {prop}"
        self._add("prop", prop=prop, text=text, owner=type(data).__name__, **kw)

    def operator(self, idname, text=None, icon="NONE", **_kw):
        _check_icon(icon)
        rna = _operator_rna(idname)
        props = OpProps(rna)
        self._add("operator", idname=idname, text=text, icon=icon, props=props, label=rna.name)
        return props

    def progress(self, factor=0.0, type="BAR", text=""):  # noqa: A002
        self._add("progress", factor=factor, text=text)

    def template_ID(self, data, prop, **_kw):  # noqa: N802
        assert prop in data.bl_rna.properties, f"{type(data).__name__} has no property {prop}"
        self._add("template_ID", prop=prop)

    def template_icon(self, icon_value=0, scale=1.0):
        self._add("icon", icon_value=icon_value)

    def separator(self, **_kw):
        self._add("separator")

    # -- reading what was drawn
    def dump(self) -> str:
        lines = []
        for it in self.items:
            pad = "  " * it["depth"]
            flags = ("" if it["enabled"] else " (disabled)") + (" (alert)" if it["alert"] else "")
            kind = it["kind"]
            if kind == "label":
                icon = f" [{it['icon']}]" if it["icon"] not in ("NONE", "BLANK1") else ""
                lines.append(f"{pad}label{icon}: {it['text']}{flags}")
            elif kind == "operator":
                props = " ".join(f"{k}={v}" for k, v in it["props"].props.items())
                lines.append(
                    f"{pad}button {it['idname']} {it['text'] or it['label']!r} "
                    f"{props}{flags}".rstrip()
                )
            elif kind == "prop":
                lines.append(f"{pad}prop {it['owner']}.{it['prop']}{flags}")
            elif kind == "progress":
                lines.append(f"{pad}progress {it['factor']:.2f}: {it['text']}")
            elif kind == "box":
                lines.append(f"{pad}[box]{flags}")
            else:
                lines.append(f"{pad}{kind} {it.get('prop', '')}".rstrip())
        return "\n".join(lines)

    def texts(self) -> str:
        """All label texts joined (wrapped lines are joined with a space), the words of the
        borderless "explain" buttons included (they read as labels)."""
        return " ".join(
            it["text"] or ""
            for it in self.items
            if it["kind"] == "label" or it.get("idname") == "viga.explain"
        )

    def tips(self) -> str:
        """The explanations behind the panel's short words (tooltips of viga.explain)."""
        return " ".join(
            it["props"].props.get("text", "")
            for it in self.items
            if it.get("idname") == "viga.explain"
        )

    def buttons(self, enabled_only=True) -> list[str]:
        return [
            it["idname"]
            for it in self.items
            if it["kind"] == "operator" and (it["enabled"] or not enabled_only)
        ]

    def button_items(self, idname) -> list[dict]:
        return [it for it in self.items if it["kind"] == "operator" and it["idname"] == idname]


def draw_panel(panel_cls, context=None) -> RecordingLayout:
    layout = RecordingLayout()
    panel_cls.draw(types.SimpleNamespace(layout=layout), context or bpy.context)
    return layout


def draw_all(context=None) -> RecordingLayout:
    """The main panel and its sub-panels, in order, into one recording."""
    from viga_addon.ui.panels import main_panel as mp

    layout = RecordingLayout()
    for cls in mp.CLASSES:
        layout.label(text=f"=== {cls.bl_label} ===")
        cls.draw(types.SimpleNamespace(layout=layout), context or bpy.context)
    return layout


# ----------------------------------------------------------------------------- fake window manager
class FakeWindowManager:
    def __init__(self):
        self.timers = []
        self.handlers = []
        self.removed = 0

    def event_timer_add(self, step, window=None):
        timer = types.SimpleNamespace(time_step=step)
        self.timers.append(timer)
        return timer

    def event_timer_remove(self, timer):
        self.timers.remove(timer)
        self.removed += 1

    def modal_handler_add(self, op):
        self.handlers.append(op)
        return True


def fake_context(wm=None):
    return types.SimpleNamespace(
        scene=bpy.context.scene,
        window_manager=wm or FakeWindowManager(),
        window=None,
        screen=None,
        preferences=bpy.context.preferences,
    )


def event(kind, value="NOTHING"):
    return types.SimpleNamespace(type=kind, value=value)


class _Harness(pump.RunPump):
    def __init__(self):
        self.reports = []

    def report(self, kinds, message):
        self.reports.append((set(kinds), message))


class RunHarness(_Harness):
    invoke = pump.VIGA_OT_run.invoke
    _start = pump.VIGA_OT_run._start


class ResumeHarness(_Harness):
    invoke = pump.VIGA_OT_resume_run.invoke
    _prepare = pump.VIGA_OT_resume_run._prepare
    run_dir = ""


class PauseHarness(_Harness):
    execute = pump.VIGA_OT_pause.execute


class StepHarness(_Harness):
    invoke = pump.VIGA_OT_step_round.invoke


def pump_until(op, ctx, stop=lambda live: False, limit=400.0, sleep=0.01):
    """Send TIMER events until the operator leaves modal or ``stop(live)``; returns the result."""
    t_end = time.monotonic() + limit
    result = {"RUNNING_MODAL"}
    while time.monotonic() < t_end:
        result = op.modal(ctx, event("TIMER"))
        if result != {"PASS_THROUGH"}:
            return result
        live = rt.any_live_run()
        if live is not None and stop(live):
            return result
        time.sleep(sleep)
    raise AssertionError(f"run did not stop in {limit} s: {rt.any_live_run().session.progress()}")


# ----------------------------------------------------------------------------- the add-on
TINY_PREFS = {
    "preview_size": 48,
    "preview_samples": 2,
    "final_size": 64,
    "final_samples": 2,
    "verify_size": 48,
    "budget_init": 2,  # the demo script's two rollouts (the default is 4)
    "render_device": "CPU",
}


def write_script(tmp_path, script, name="script.json"):
    path = tmp_path / name
    path.write_text(json.dumps(script))
    return str(path)


def demo_script():
    return copy.deepcopy(tabletop.SCRIPT)


def use_demo(script_path=None):
    """The demo photo with the scripted provider (optionally a custom script)."""
    bpy.ops.viga.use_demo_photo()
    if script_path:
        bpy.context.preferences.addons[ADDON].preferences.demo_script = script_path


def start_modal_run(ctx=None):
    ctx = ctx or fake_context()
    op = RunHarness()
    result = op.invoke(ctx, event("NONE"))
    return op, ctx, result
