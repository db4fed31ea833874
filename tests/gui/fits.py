"""Loaded into the Blender under test by blender_rpc.py: does every text the add-on's panels draw
fit the space Blender gives it, or will Blender elide it ("Elaps…ed")?

While ``watch()`` is on, each watched panel draws into a ``Recorder`` standing in for its layout:
it passes every call on to the real layout and keeps the tree (rows, columns, boxes, splits,
grid flows and the texts of labels, operators, properties and progress bars). After the draw the
tree is laid out the way Blender lays out a sidebar panel (interface_layout.cc): a column gives
each item its whole width; a row shares its width among its items in proportion to their
estimated widths (text width + 1.5 units, + 0.25 with an icon; icon-only buttons a fixed unit);
a split gives its first item ``factor`` of the width and the rest share what is left. A text
fits when its slot holds the text's width, measured with ``blf`` in the UI font at
``ui_styles[0].widget.points × preferences.system.ui_scale``, plus the least padding Blender
clips at (``ui_text_pad_none``: 0.25 units, + 1.5 with an icon). What does not fit is kept per
panel in ``CUT`` (text, needed px, available px) for the test to read.

Texts inside string and pointer fields (a file path, an image name) are not checked: Blender
clips a value field by design; a file path field whose value is elided is counted
(``values_cut``), for the screenshot's cross-check (elision.py). Everything else is checked.
"""

from __future__ import annotations

import math

import blf
import bpy

WATCHED = ("VIGA_PT_main", "VIGA_PT_stages", "VIGA_PT_progress", "VIGA_PT_checklist")
SUB = ("VIGA_PT_refine",)
CUT: dict[str, list] = {}
VALUES_CUT: dict[str, int] = {}  # string fields whose value Blender elides (by design)
TEXTS: dict[str, list] = {}
_ORIGINAL: dict[str, object] = {}
CONTAINERS = ("row", "column", "box", "split", "grid_flow", "column_flow")


class Node:
    def __init__(self, kind: str, **opts):
        self.kind, self.opts, self.children = kind, opts, []


class Item:
    """A button: ``text`` as Blender shows it ("" for none), whether it has an icon, and whether
    its text is checked (``fixed``: icon-only)."""

    def __init__(
        self, text: str, icon: bool, check: bool = True, parts: int = 1, value: bool = False
    ):
        self.text, self.icon, self.check, self.parts = text, icon, check, parts
        self.value = value  # a string field's value: Blender clips it by design


class Recorder:
    """Stands in for a UILayout: every call goes to the real one; the tree is kept."""

    def __init__(self, real, node: Node):
        object.__setattr__(self, "_real", real)
        object.__setattr__(self, "_node", node)

    def __setattr__(self, name, value):
        setattr(self._real, name, value)

    def __getattr__(self, name):
        attr = getattr(self._real, name)
        if name in CONTAINERS:

            def make(*args, **kw):
                node = Node(name, **kw, args=args)
                self._node.children.append(node)
                return Recorder(attr(*args, **kw), node)

            return make
        if name == "label":
            return self._label
        if name == "operator":
            return self._operator
        if name == "prop":
            return self._prop
        if name == "progress":
            return self._progress
        return attr

    def _label(self, *args, **kw):
        text = kw.get("text", args[0] if args else "")
        self._node.children.append(Item(text, _has_icon(kw)))
        return self._real.label(*args, **kw)

    def _operator(self, idname, **kw):
        text = kw.get("text")
        if text is None:
            text = _operator_label(idname)
        self._node.children.append(Item(text, _has_icon(kw)))
        return self._real.operator(idname, **kw)

    def _progress(self, **kw):
        self._node.children.append(Item(kw.get("text", ""), False))
        return self._real.progress(**kw)

    def _prop(self, data, prop, **kw):
        self._node.children.append(_prop_item(data, prop, kw))
        return self._real.prop(data, prop, **kw)


def _has_icon(kw) -> bool:
    return kw.get("icon", "NONE") not in ("NONE", "") or bool(kw.get("icon_value", 0))


def _operator_label(idname: str) -> str:
    module, name = idname.split(".", 1)
    try:
        return getattr(getattr(bpy.ops, module), name).get_rna_type().name
    except (AttributeError, KeyError):
        return idname


def _prop_item(data, prop: str, kw) -> Item:
    rna = data.bl_rna.properties.get(prop)
    if rna is None:
        return Item("", False, check=False)
    text = kw.get("text")
    name = rna.name if text is None else text
    icon = _has_icon(kw)
    if rna.type == "BOOLEAN":
        return Item(name, True)  # the checkbox counts as an icon
    if rna.type == "ENUM":
        items = {i.identifier: i.name for i in rna.enum_items}
        if kw.get("expand"):
            names = [items[k] for k in items]
            return Item(max(names, key=len), False, parts=len(names))
        value = getattr(data, prop)
        return Item(items.get(value, str(value)), True)  # the drop-down arrow
    if rna.type in ("INT", "FLOAT"):
        value = getattr(data, prop)
        shown = f"{value:.2f}" if rna.type == "FLOAT" else str(value)
        return Item(f"{name}: {shown}" if name else shown, icon)
    if rna.type == "STRING" and not name and not getattr(rna, "is_password", False):
        # a file path field: Blender elides a long value by design; counted, not failed
        return Item(str(getattr(data, prop)), True, check=False, value=True)
    return Item("", icon, check=False)  # pointer fields: an ID's name


# ----------------------------------------------------------------------------- layout
def _units():
    prefs = bpy.context.preferences
    scale = prefs.system.ui_scale
    blf.size(0, prefs.ui_styles[0].widget.points * scale)
    return 20 * scale, scale


def _text_width(text: str) -> float:
    return blf.dimensions(0, text)[0]


def _estimate(thing, unit: float) -> float:
    """Blender's estimate of an item's width in a row (ui_text_icon_width, default padding)."""
    if isinstance(thing, Item):
        if not thing.text:
            return unit
        pad = 1.5 + (0.25 if thing.icon else 0)
        return (_text_width(thing.text) + math.ceil(unit * pad)) * thing.parts
    sizes = [_estimate(c, unit) for c in thing.children] or [0]
    if thing.kind == "row":
        return sum(sizes)
    return max(sizes)


def _need(item: Item, unit: float) -> float:
    """The least width that shows the whole text (ui_text_pad_none)."""
    return _text_width(item.text) + unit * (0.25 + (1.5 if item.icon else 0))


def _fixed(thing) -> bool:
    return isinstance(thing, Item) and not thing.text


def _layout(node: Node, width: float, unit: float, scale: float, out: list) -> None:
    kids = node.children
    if node.kind == "box":
        width -= 2 * 6 * scale
    if node.kind in ("row",) and kids:
        space = 0 if node.opts.get("align") else 6 * scale
        fixed = sum(unit for k in kids if _fixed(k))
        rest = [k for k in kids if not _fixed(k)]
        total = sum(_estimate(k, unit) for k in rest) or 1
        avail = width - fixed - space * (len(kids) - 1)
        widths = [unit if _fixed(k) else avail * _estimate(k, unit) / total for k in kids]
    elif node.kind == "split" and kids:
        factor = node.opts.get("factor", 0.0) or 1 / len(kids)
        first = width * factor
        widths = [first] + [(width - first) / max(1, len(kids) - 1)] * (len(kids) - 1)
    elif node.kind in ("grid_flow", "column_flow") and kids:
        columns = node.opts.get("columns", 0) or len(kids)
        widths = [(width - 6 * scale * (columns - 1)) / columns] * len(kids)
    else:
        widths = [width] * len(kids)
    for kid, w in zip(kids, widths, strict=True):
        if isinstance(kid, Item):
            if kid.value and kid.text and _need(kid, unit) + unit > w:  # + the browse button
                out.append((None, kid.text, 0))
            elif kid.check and kid.text:
                slot = w / kid.parts
                need = _need(kid, unit)
                if "…" in kid.text or "..." in kid.text:  # reads as cut (and fools elision.py)
                    need = math.inf
                out.append((kid.text, round(need, 1), round(slot, 1)))
        else:
            _layout(kid, w, unit, scale, out)


def panel_width(region) -> float:
    """The width a sidebar panel lays out in: the region less the category tabs, the panel's
    own margin on each side and the layout's space inside it."""
    scale = bpy.context.preferences.system.ui_scale
    return region.width - 20 * scale - 2 * 5 * scale - 2 * 8 * scale


def check(panel_id: str, root: Node, region) -> None:
    unit, scale = _units()
    texts: list = []
    _layout(root, panel_width(region), unit, scale, texts)
    VALUES_CUT[panel_id] = sum(1 for t in texts if t[0] is None)
    texts = [t for t in texts if t[0] is not None]
    TEXTS[panel_id] = texts
    CUT[panel_id] = [t for t in texts if t[1] > t[2]]


# ----------------------------------------------------------------------------- watching
def _wrapped(cls, original):
    def draw(self, context):
        root = Node("column")
        stand_in = _Self(Recorder(self.layout, root), self)
        original(stand_in, context)
        check(cls.bl_idname, root, context.region)

    return draw


class _Self:
    """The panel as its draw sees it, with the recorder for ``layout``."""

    def __init__(self, layout, panel):
        self.layout, self._panel = layout, panel

    def __getattr__(self, name):
        return getattr(self._panel, name)


def watch() -> list[str]:
    """Wrap the watched panels' draw (once); returns those found."""
    found = []
    for name in (*WATCHED, *SUB):
        cls = getattr(bpy.types, name, None)
        if cls is None:
            continue
        if name not in _ORIGINAL:
            _ORIGINAL[name] = cls.draw
            cls.draw = _wrapped(cls, cls.draw)
        found.append(name)
    return found


def cut(panels=None) -> dict:
    """{panel: [(text, needed px, available px), …]} of the texts that do not fit."""
    return {k: v for k, v in CUT.items() if v and (panels is None or k in panels)}


def values_cut() -> int:
    """How many string fields show their value elided (Blender's own "…", by design)."""
    return sum(VALUES_CUT.values())


def reset() -> None:
    CUT.clear()
    TEXTS.clear()
    VALUES_CUT.clear()
