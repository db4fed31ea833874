"""What a model tool is: one record with its schema, its argument check, its timing category
and its handler; ``ToolOutcome``, what a handler returns; host results as message parts."""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from ... import messages as msg
from ...state import ToolCall
from ..base import SessionBase
from ..events import Wait

RESULT_TEXT_LIMIT = 4000  # characters of a host result's JSON the model sees
OBJECTS = {"type": "array", "items": {"type": "string"}}
VEC3 = {"type": "array", "items": {"type": "number"}, "minItems": 3, "maxItems": 3}


@dataclass
class ToolOutcome:
    parts: list[dict]
    is_error: bool = False
    control: str | None = None  # "end_round" | "verdict"


Check = Callable[[dict[str, Any]], str | dict[str, Any]]  # an error message, or the arguments
# a handler that waits (a render-type call) is a generator yielding Wait, returning the outcome
Waits = Generator[Wait, None, ToolOutcome]
Handler = Callable[[SessionBase, ToolCall, dict[str, Any]], "ToolOutcome | Waits"]


@dataclass(frozen=True)
class Tool:
    """A model tool. ``handler`` None: the call goes to the host as it is (``host.call(name,
    args)``; a "render" category call starts in the render process and is waited for)."""

    name: str
    description: str
    params: dict[str, Any]
    required: tuple[str, ...] | list[str] = ()
    category: str | None = None  # timing: "render" | "execute" | "other_tools"; None: no host
    handler: Handler | None = None
    check: Check | None = None
    views: bool = False  # the host writes images into the round's views/ folder

    @property
    def schema(self) -> dict:
        return msg.tool(self.name, self.description, self.params, list(self.required))


def error(text: str) -> ToolOutcome:
    return ToolOutcome([msg.text(text)], is_error=True)


def from_host(result: dict) -> ToolOutcome:
    return ToolOutcome(result_parts(result), is_error=not result.get("ok", False))


_SAID_IN_TEXT = ("stdout", "traceback", "detail")


def result_parts(result: dict) -> list[dict]:
    """A host result as message parts: its text first, then the rest as compact JSON, then its
    images as image parts, each view's camera pose said in the text."""
    result = dict(result)
    images, poses = [], []
    if result.get("path") and str(result["path"]).endswith(".png"):
        images.append(result.pop("path"))
    for item in result.pop("images", []) or []:
        if isinstance(item, dict) and item.get("path"):
            images.append(item["path"])
            if item.get("camera"):
                poses.append(f"image {len(images)}: camera {json.dumps(item['camera'])}")
        elif isinstance(item, str):
            images.append(item)
    text = result.pop("text", None)
    if text:
        for key in _SAID_IN_TEXT:
            result.pop(key, None)
    body = json.dumps(result, default=str)
    if len(body) > RESULT_TEXT_LIMIT:
        body = body[:RESULT_TEXT_LIMIT] + " …[cut]"
    lines = [line for line in (text, body, "\n".join(poses)) if line]
    parts = [msg.text("\n".join(lines))]
    parts += [msg.image(p) for p in images]
    return parts
