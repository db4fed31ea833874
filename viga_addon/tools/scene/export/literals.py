"""Python source text for values: float32-exact numbers, tuples, sets, dicts and wrapped lists.

Pure Python (no bpy): everything the writers emit as a literal goes through ``lit``.
"""

from __future__ import annotations

import math
import struct
from typing import Any

TRIPLE_DOUBLE, TRIPLE_SINGLE = '"' * 3, "'" * 3


def f32(value: float) -> str:
    """Shortest decimal that reads back as the same float32 (Blender stores float32)."""
    if math.isinf(value) or math.isnan(value):
        return f"float('{value}')"
    target = struct.unpack("f", struct.pack("f", value))[0]
    for digits in range(6, 10):
        text = f"{value:.{digits}g}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == target:
            break
    if "e" not in text and "." not in text and "inf" not in text:
        text += ".0"
    return text


def g6(value: float) -> str:
    """Compact bulk-data float: 6 significant digits, no trailing '.0'."""
    text = f"{value:.6g}"
    return "0" if text == "-0" else text


def lit(value: Any) -> str:
    """Python source for a property value (numbers, strings, enums, vectors, colours, sets)."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        return f32(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(repr(v) for v in sorted(value)) + "}" if value else "set()"
    try:
        items = list(value)
    except TypeError:
        return repr(value)
    inner = ", ".join(lit(v) for v in items)
    return f"({inner},)" if len(items) == 1 else f"({inner})"


def q(text: str) -> str:
    """A string literal for generated code (names may contain quotes)."""
    return repr(text)


def wrap(tokens: list[str], indent: str, width: int = 100) -> str:
    """Join tokens with ', ' over several lines no wider than ``width``."""
    lines, current = [], indent
    for token in tokens:
        piece = token + ", "
        if len(current) + len(piece) > width and current.strip():
            lines.append(current.rstrip())
            current = indent
        current += piece
    if current.strip():
        lines.append(current.rstrip())
    return "\n".join(lines)


def list_lit(tokens: list[str], indent: str) -> str:
    """A list literal of ready-made tokens, wrapped one level deeper than ``indent``."""
    if not tokens:
        return "[]"
    return "[\n" + wrap(tokens, indent + "    ") + "\n" + indent + "]"


def lit_dict(values: dict[str, Any], indent: str = "    ") -> str:
    """A dict literal; longer than about a line, one wrapped entry list under ``indent``."""
    items = [f"{k!r}: {lit(v)}" for k, v in values.items()]
    one_line = "{" + ", ".join(items) + "}"
    if len(one_line) <= 72:
        return one_line
    return "{\n" + wrap(items, indent + "    ") + "\n" + indent + "}"


def docstring_text(text: str) -> str:
    """``text`` made safe inside a triple-double-quoted raw string."""
    return text.replace(TRIPLE_DOUBLE, TRIPLE_SINGLE)
