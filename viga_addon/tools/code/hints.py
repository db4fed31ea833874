"""Hints for model code that failed: what the error is about, and what to write instead.

``explain(exc, code)`` reads a failure of model code (the exception, its traceback into the
model's frames, and the code) and returns a short hint for the model, or None. It finds what the
failure is about from the exception, the failing expression of the model's code (the traceback
gives its position; the code's AST gives the expression) and the objects that expression names
in the model's frame, looked up read-only (names, attributes and constant subscripts of Blender
data; nothing the model defined is called). The common cases:

- a missing node socket (``bsdf.inputs["Specular"]``): that node's real input (or output) names,
  and the current name of a socket renamed since Blender 3.x (``SOCKET_RENAMES``);
- a missing object, material, node, collection, image ... name: the closest existing names;
- an attribute a Blender type does not have: the API that replaced it (``ATTRIBUTE_RENAMES``) or
  the type's closest attribute names; an attribute of None: which expression was None and why;
- an enum value (EEVEE's engine id), a node type or an operator argument that does not exist, a
  value of the wrong shape, operators without their context, ``*`` for matrix products, a name
  from an earlier call, Markdown fences, the time limit.

``failing_lines`` gives the model's own lines the error passed through, ``warning_note`` what to do
about a deprecation warning (``use_nodes``) (what to do when a scope rolled a call back is
scope_check.py's ``scope_hint``). None of them raises: a broken hint must never hide the error
it explains. The renamed APIs are renames.py's; where a hint names a new name, it checks that
this Blender has it. Everything here may meet the model's objects, so execute.py calls it under
a guard of its own (``_contained``).
"""

from __future__ import annotations

import ast
import difflib
import re
import types
from dataclasses import dataclass

from . import policy, renames

HINT_LIMIT = 900  # characters of one hint
_LIST_LIMIT = 40  # names listed in full
_FAIL = object()  # "could not look this up"


# ----------------------------------------------------------------------------- the failure
@dataclass
class _Site:
    """Where the failure happened: the innermost frame of the model's code and its AST."""

    exc: BaseException
    code: str
    hidden: frozenset
    tree: ast.Module | None = None
    frame: types.FrameType | None = None
    node: ast.AST | None = None  # the expression the error was raised at
    stmt: ast.stmt | None = None  # the innermost statement around it

    def value(self, node: ast.AST | None) -> object:
        """The value of ``node`` in the failing frame, or _FAIL (see ``_lookup``)."""
        try:
            return _lookup(self.frame, node, 0)
        except Exception:  # noqa: BLE001 - a lookup that fails is a lookup we skip
            return _FAIL

    def source(self, node: ast.AST | None) -> str | None:
        """The model's own text of ``node`` (one line, shortened)."""
        try:
            text = " ".join((ast.get_source_segment(self.code, node) or ast.unparse(node)).split())
        except Exception:  # noqa: BLE001
            return None
        return text if len(text) <= 120 else text[:117] + "..."

    def nodes(self, kind: type | tuple[type, ...]) -> list:
        """Nodes of ``kind`` in the failing statement, the failing expression first."""
        found = [self.node] if isinstance(self.node, kind) else []
        if self.stmt is not None:
            found += [n for n in ast.walk(self.stmt) if isinstance(n, kind) and n is not self.node]
        return found

    def assigned(self, name: str) -> ast.expr | None:
        """The value of the last ``name = ...`` before the failing line (same function)."""
        line = getattr(self.stmt, "lineno", 0)
        found = None
        for node in ast.walk(self.tree) if self.tree else ():
            if (
                isinstance(node, ast.Assign)
                and node.lineno < line
                and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
                and (found is None or node.lineno > found.lineno)
            ):
                found = node
        return found.value if found else None


def _model_tracebacks(exc: BaseException) -> list:
    """The traceback entries of the model's frames, outermost first."""
    out, tb = [], exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == policy.CODE_FILENAME:
            out.append(tb)
        tb = tb.tb_next
    return out


def _site(exc: BaseException, code: str, hidden: frozenset) -> _Site:
    site = _Site(exc, code, hidden)
    tbs = _model_tracebacks(exc)
    try:
        site.tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return site
    if not tbs:
        return site
    tb = tbs[-1]
    site.frame, line = tb.tb_frame, tb.tb_lineno
    try:  # the failing instruction's span in the code (Python 3.11+)
        positions = list(tb.tb_frame.f_code.co_positions())
        position = tuple(positions[tb.tb_lasti // 2])
    except Exception:  # noqa: BLE001 - no positions (python -X no_debug_ranges)
        position = None
    statements = []
    for node in ast.walk(site.tree):
        if isinstance(node, ast.expr) and site.node is None and position:
            span = (node.lineno, node.end_lineno, node.col_offset, node.end_col_offset)
            site.node = node if span == position else None
        if isinstance(node, ast.stmt) and node.lineno <= line <= (node.end_lineno or line):
            statements.append(node)
    if statements:  # the innermost: the one that starts last
        site.stmt = max(statements, key=lambda s: (s.lineno, -(s.end_lineno or s.lineno)))
    return site


def _lookup(frame: types.FrameType | None, node: ast.AST | None, depth: int) -> object:
    """Read-only evaluation in the model's frame: names, attributes of Blender data and of the
    guarded modules, constant subscripts and ``.get(key)`` of Blender collections. Nothing the
    model defined is called, no refused attribute is read."""
    import bpy

    collection = bpy.types.bpy_prop_collection
    if node is None or depth > 16:
        return _FAIL
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        for scope in (frame.f_locals, frame.f_globals) if frame is not None else ():
            if node.id in scope:
                return scope[node.id]
        return _FAIL
    if isinstance(node, ast.Attribute):
        base = _lookup(frame, node.value, depth + 1)
        if not _blender(base) or policy.attribute_refusal(node.attr):
            return _FAIL
        return getattr(base, node.attr, _FAIL)
    if isinstance(node, ast.Subscript):
        base = policy.unwrap(_lookup(frame, node.value, depth + 1))
        key = _lookup(frame, node.slice, depth + 1)
        if isinstance(base, collection) and isinstance(key, str):
            return base.get(key, _FAIL)
        if isinstance(base, collection) and type(key) is int and -len(base) <= key < len(base):
            return base[key]
        return _FAIL
    if isinstance(node, ast.Call) and _is_get(node):
        base = policy.unwrap(_lookup(frame, node.func.value, depth + 1))
        key = _lookup(frame, node.args[0], depth + 1)
        if isinstance(base, collection) and isinstance(key, str):
            return base.get(key)
    return _FAIL


def _is_get(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and len(node.args) == 1
        and not node.keywords
    )


def _blender(value: object) -> bool:
    """Whether attributes of ``value`` may be read: Blender data and the guarded stand-ins of
    bpy and the allowed modules, never the model's own objects."""
    import bpy

    blender = (bpy.types.bpy_struct, bpy.types.bpy_prop_collection)
    return isinstance(value, blender) or policy.unwrap(value) is not value


def _rna_id(value: object) -> str:
    try:
        return value.bl_rna.identifier
    except Exception:  # noqa: BLE001
        return ""


def _names(collection, hidden: frozenset) -> list[str]:
    """The names of a collection's items (not the artist's other scenes' ones), in order."""
    if len(collection) > 20_000:
        return []
    out: dict[str, None] = {}
    for item in collection:
        name = getattr(item, "name", None)
        pointer = getattr(item, "as_pointer", None)
        if not isinstance(name, str) or not getattr(item, "enabled", True):
            continue
        if not (hidden and pointer is not None and pointer() in hidden):
            out[name] = None
    return list(out)


def _quote(names, limit: int = _LIST_LIMIT) -> str:
    names = list(names)
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _close(word: str, names, n: int = 5, cutoff: float = 0.55) -> list[str]:
    """The names closest to ``word``: one differing only in case first, then difflib's."""
    names = list(names)
    same = [m for m in names if m.lower() == word.lower() and m != word][:1]
    near = difflib.get_close_matches(word, names, n=n, cutoff=cutoff)
    return same + [m for m in near if m not in same and m != word]


# ----------------------------------------------------------------------------- the rules
_KEY = re.compile(r'key "(.*)" not found')


def _missing_key(site: _Site) -> str | None:
    exc = site.exc
    if not isinstance(exc, KeyError) or not exc.args:
        return None
    match = _KEY.search(str(exc.args[0]))
    key = match.group(1) if match else exc.args[0]
    if not isinstance(key, str):
        return None
    for sub in site.nodes(ast.Subscript):
        index = site.value(sub.slice)
        if index == key or (index is _FAIL and sub is site.node):
            found = site.value(sub.value)
            if found is not _FAIL:
                return _collection_hint(site, found, key, site.source(sub.value))
    new = renames.SOCKET_RENAMES.get(key)
    if new and key not in ("Fac", "Factor"):
        return f"If {key!r} is a Principled BSDF input: it is {new!r} since Blender 4.0."
    return None


def _collection_hint(site: _Site, found, key: str, source: str | None) -> str | None:
    import bpy

    found = policy.unwrap(found)
    if not isinstance(found, bpy.types.bpy_prop_collection):
        return None
    kind, names = _rna_id(found), _names(found, site.hidden)
    if kind in ("NodeInputs", "NodeOutputs"):
        return _socket_hint(found, key, names, kind, source)
    where = source or kind or "the collection"
    parts = [f"{where} has nothing named {key!r} (names are exact and case-sensitive)."]
    close = _close(key, names)
    if close:
        parts.append(f"Closest names: {_quote(close)}.")
    if not names:
        parts.append(f"{where} is empty: create it first.")
    elif len(names) <= _LIST_LIMIT:
        parts.append(f"It holds: {_quote(names)}.")
    else:
        parts.append(f"It holds {len(names)} names.")
    return " ".join(parts)


def _socket_hint(sockets, key: str, names: list[str], kind: str, source: str | None) -> str:
    side, node = ("input" if kind == "NodeInputs" else "output"), sockets.data
    parts = [f"The node {node.name!r} ({node.bl_idname}) has no {side} {key!r}."]
    new = renames.SOCKET_RENAMES.get(key)
    if new in names:
        where = f" Write {source}[{new!r}]." if source else ""
        parts.append(f"In this Blender it is called {new!r} (renamed in Blender 4.x/5.0).{where}")
    elif key in renames.SOCKET_REMOVED:
        parts.append(f"It was removed in Blender 4.0: {renames.SOCKET_REMOVED[key]}.")
    elif _close(key, names, n=3):
        parts.append(f"Closest: {_quote(_close(key, names, n=3))}.")
    parts.append(f"Its {side}s: {_quote(names)}.")
    return " ".join(parts)


_NONE_ATTRIBUTE = re.compile(r"'NoneType' object has no attribute '(\w+)'")


def _none_attribute(site: _Site) -> str | None:
    match = _NONE_ATTRIBUTE.search(str(site.exc))
    if not isinstance(site.exc, AttributeError) or not match:
        return None
    for node in site.nodes(ast.Attribute):
        if node.attr == match.group(1) and site.value(node.value) is None:
            return _why_none(site, node.value, match.group(1))
    return None


def _why_none(site: _Site, node: ast.expr, attr: str) -> str:
    head = f"{site.source(node) or 'the value'} is None, so it has no {attr!r}."
    if isinstance(node, ast.Name):  # bsdf = nodes.get("Principled") on an earlier line
        earlier = site.assigned(node.id)
        if earlier is not None and site.value(earlier) is None:
            node = earlier
            head += f" It came from {site.source(earlier)}."
    if _is_get(node):
        key, found = site.value(node.args[0]), site.value(node.func.value)
        more = _collection_hint(site, found, key, site.source(node.func.value))
        return f"{head} {more}" if isinstance(key, str) and more else head
    why = renames.NONE_REASONS.get(node.attr) if isinstance(node, ast.Attribute) else None
    return f"{head} {why.format(owner=site.source(node.value))}" if why else head


_NO_ATTRIBUTE = re.compile(r"""(?:has no attribute|attribute) ['"](\w+)['"]""")


def _attribute(site: _Site) -> str | None:
    exc = site.exc
    match = _NO_ATTRIBUTE.search(str(exc))
    if not isinstance(exc, AttributeError) or _NONE_ATTRIBUTE.search(str(exc)) or not match:
        return None
    name, owner = match.group(1), _FAIL
    for node in site.nodes(ast.Attribute):
        if node.attr == name:
            owner = site.value(node.value)
            break
    owner = policy.unwrap(owner)
    if owner is _FAIL or owner is None:
        return None
    kind = _rna_id(owner)
    parts = (
        [f"{kind}.{name}: {renames.ATTRIBUTE_RENAMES[kind, name]}."]
        if (kind, name) in renames.ATTRIBUTE_RENAMES
        else []
    )
    close = _close(name, _attribute_names(owner), cutoff=0.6)
    if close:
        parts.append(f"Closest {kind or 'attribute'} names: {_quote(close)}.")
    return " ".join(parts) or None


def _attribute_names(owner: object) -> list[str]:
    """Attribute names of Blender data or a module (never of the model's own objects)."""
    import bpy

    names: list[str] = []
    if isinstance(owner, (bpy.types.bpy_struct, bpy.types.bpy_prop_collection)):
        rna = getattr(owner, "bl_rna", None)
        if rna is not None:
            names += list(rna.properties.keys()) + list(rna.functions.keys())
        names += dir(type(owner))
    elif isinstance(owner, types.ModuleType) or _blender(owner):
        names += dir(owner)
    return sorted({n for n in names if not n.startswith("_") and n != "rna_type"})


_ENUM = re.compile(r'enum "([^"]*)" not found in \(([^)]*)\)')


def _enum(site: _Site) -> str | None:
    match = _ENUM.search(str(site.exc))
    if not match:
        return None
    value, allowed = match.group(1), re.findall(r"'([^']*)'", match.group(2))
    eevee = [a for a in allowed if a.startswith("BLENDER_EEVEE")]
    if (value in renames.ENGINE_IDS or value == "EEVEE") and eevee:
        import bpy

        return (
            f"In this Blender ({bpy.app.version_string}) EEVEE's engine id is {eevee[0]!r} "
            "(Blender 4.2 calls it 'BLENDER_EEVEE_NEXT', 3.x and 5.x 'BLENDER_EEVEE'); the "
            f"engines here: {_quote(allowed)}."
        )
    if renames.ENUM_RENAMES.get(value) in allowed:
        return f"{value!r} is called {renames.ENUM_RENAMES[value]!r} in this Blender."
    close = _close(value, allowed, n=3)
    return f"Closest allowed values to {value!r}: {_quote(close)}." if close else None


_NODE_TYPE = re.compile(r"Node type (\w+) undefined")


def _node_type(site: _Site) -> str | None:
    match = _NODE_TYPE.search(str(site.exc))
    if not match:
        return None
    import bpy

    old = match.group(1)
    new, since, how = renames.NODE_TYPE_RENAMES.get(old, (None, "", ""))
    if new and hasattr(bpy.types, new):
        return f"{old} was removed in Blender {since}: create {new!r} instead{how}."
    prefix = re.match(r"[A-Z][a-z]*Node", old)
    prefix = prefix.group(0) if prefix else old[:6]
    close = _close(old, [n for n in dir(bpy.types) if n.startswith(prefix)], n=4, cutoff=0.6)
    return f"No node type {old!r} here. Closest node types: {_quote(close)}." if close else None


_KEYWORD = re.compile(r'keyword "(\w+)" unrecognized')


def _operator_keyword(site: _Site) -> str | None:
    match = _KEYWORD.search(str(site.exc))
    if not match:
        return None
    word = match.group(1)
    for call in site.nodes(ast.Call):
        op = site.value(call.func) if any(k.arg == word for k in call.keywords) else _FAIL
        op = policy.unwrap(op)
        if op is not _FAIL and type(op).__name__ in ("BPyOpFunction", "_BPyOpsSubModOp"):
            props = [p.identifier for p in op.get_rna_type().properties]
            props = [p for p in props if p != "rna_type"]
            close = _close(word, props, n=3)
            near = f" Closest: {_quote(close)}." if close else ""
            name = site.source(call.func)
            return f"{name}() has no argument {word!r}.{near} It takes: {_quote(props)}."
    return None


def _assignment(site: _Site) -> str | None:
    text = str(site.exc)
    wrong = ("item.attr = val" in text, "expected a" in text, "sequences of dim" in text)
    if not isinstance(site.exc, (TypeError, ValueError)) or _ENUM.search(text) or not any(wrong):
        return None
    for node in site.nodes(ast.Attribute):
        owner = policy.unwrap(site.value(node.value)) if isinstance(node.ctx, ast.Store) else None
        rna = getattr(owner, "bl_rna", None) if _blender(owner) else None
        prop = rna.properties.get(node.attr) if rna is not None else None
        if prop is not None:
            out = f"{site.source(node)} takes {_shape(prop)}."
            socket = owner.name if _rna_id(owner).startswith("NodeSocket") else None
            if socket in renames.SOCKET_TYPE_CHANGED:
                out += f" {socket!r} is {renames.SOCKET_TYPE_CHANGED[socket]}."
            return out
    return None


def _shape(prop) -> str:
    """What a property takes, in words: "a colour of 4 numbers (R, G, B, A)", "one number"."""
    kind, length = prop.type, getattr(prop, "array_length", 0) or 0
    if kind == "ENUM":
        return f"one of {_quote([item.identifier for item in prop.enum_items])}"
    if kind in ("FLOAT", "INT", "BOOLEAN") and length:
        if prop.subtype in ("COLOR", "COLOR_GAMMA"):
            return f"a colour of {length} numbers" + {4: " (R, G, B, A)", 3: " (R, G, B)"}.get(
                length, ""
            )
        return f"a sequence of {length} numbers"
    words = {"FLOAT": "one number", "INT": "one whole number", "BOOLEAN": "True or False"}
    if kind == "POINTER":
        return f"a {prop.fixed_type.identifier} (or None)"
    return words.get(kind, "a string" if kind == "STRING" else kind.lower())


_NAME = re.compile(r"name '(\w+)' is not defined")


def _name(site: _Site) -> str | None:
    match = _NAME.search(str(site.exc))
    if not isinstance(site.exc, NameError) or not match:
        return None
    name = match.group(1)
    if name in renames.CONSOLE_NAMES:
        instead = renames.CONSOLE_NAMES[name]
        return f"{name} is a shortcut of Blender's Python console only: write {instead}."
    if {"np": "numpy"}.get(name, name) in policy.ALLOWED_MODULES:
        return "Import it first: " + ("import numpy as np." if name == "np" else f"import {name}.")
    known = set(site.frame.f_globals) | set(site.frame.f_locals) if site.frame else set()
    close = [n for n in _close(name, known, n=3, cutoff=0.7) if not n.startswith("_")]
    near = f" Did you mean {_quote(close)}?" if close else ""
    return (
        f"{name!r} is not defined in this call.{near} Each execute_code call starts with a fresh "
        "namespace: names from earlier calls are gone (find earlier objects by name, e.g. "
        "bpy.data.objects['Name'])."
    )


def _other(site: _Site) -> str | None:
    """The time limit, operators without their context, ``*`` for matrices, Markdown fences."""
    exc, text = site.exc, str(site.exc)
    if isinstance(exc, policy.ExecutionTimeout):
        return (
            f"Each call may run {policy.DEFAULT_TIMEOUT:g} s. Split the work over several "
            "calls, and build many vertices or objects with bpy.data, bmesh or foreach_set "
            "rather than an operator per item."
        )
    if isinstance(exc, RuntimeError) and ".poll()" in text:
        return (
            "Blender runs without windows here, so operators that need an active object, a 3D "
            "view or Edit Mode often refuse: make the object active first "
            "(bpy.context.view_layer.objects.active = obj; obj.select_set(True)), or do it with "
            "bpy.data and bmesh instead of the operator."
        )
    if (
        isinstance(exc, TypeError)
        and "Matrix" in text
        and ("multiplication" in text or "*" in text)
    ):
        return "Matrix products use @ since Blender 2.80: matrix @ vector, matrix @ matrix."
    if isinstance(exc, SyntaxError) and "```" in site.code.lstrip()[:400]:
        return "Send plain Python: no Markdown ``` fences around the code."
    if isinstance(exc, SyntaxError) and re.match(r"\s*print\s+[^(\s=]", exc.text or ""):
        return "print is a function in Python 3: print(value)."
    return None


_RULES = (
    _missing_key,
    _none_attribute,
    _attribute,
    _enum,
    _node_type,
    _operator_keyword,
    _assignment,
    _name,
    _other,
)


# ----------------------------------------------------------------------------- public
def explain(exc: BaseException, code: str, hidden: frozenset = frozenset()) -> str | None:
    """A hint for the model about ``exc`` raised by its ``code`` (or None). ``hidden``: pointers
    of datablocks whose names must not be listed (the artist's other scenes'). Never raises."""
    try:
        site = _site(exc, code, frozenset(hidden or ()))
        found: list[str] = []
        for rule in _RULES:
            try:
                hint = rule(site)
            except Exception:  # noqa: BLE001 - a broken rule must not hide the error
                hint = None
            if hint and len(found) < 2:
                found.append(hint if len(hint) <= HINT_LIMIT else hint[: HINT_LIMIT - 3] + "...")
        return "\n".join(found) or None
    except Exception:  # noqa: BLE001
        return None


def failing_lines(exc: BaseException, code: str) -> list[tuple[int, str | None, str]]:
    """The model's lines the error went through, innermost first: (line number, the function it
    is in or None at the top level, the line's text). Empty when none is known. Never raises."""
    try:
        lines = code.splitlines()

        def text(lineno: int | None) -> str:
            return lines[lineno - 1].strip() if lineno and 0 < lineno <= len(lines) else ""

        if isinstance(exc, SyntaxError):
            found = text(exc.lineno) or (exc.text or "").strip()
            return [(exc.lineno, None, found)] if exc.lineno else []
        out = []
        for tb in reversed(_model_tracebacks(exc)):
            name = tb.tb_frame.f_code.co_name
            out.append((tb.tb_lineno, None if name == "<module>" else name, text(tb.tb_lineno)))
        return out
    except Exception:  # noqa: BLE001
        return []


def warning_note(message: str) -> str | None:
    """What to do about a warning the model's code raised (a deprecation), or None."""
    try:
        return next(
            (note for mark, note in renames.DEPRECATION_NOTES.items() if mark in message), None
        )
    except Exception:  # noqa: BLE001
        return None
