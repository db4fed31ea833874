"""The preflight: one tiny request with a tool and an image, before a run's first real one,
to learn within seconds whether the server takes tools and images.

    tools refused (ToolsUnsupported)  -> the provider uses the text protocol; a second tiny
                                         request (no tools) checks the image
    image refused (ImagesUnsupported) -> raised: the run fails at once with the server's words
    anything else refused             -> raised as it came (a 404 model, a 401 key …)
    an answer of any kind             -> the server takes both (what the model said is not
                                         judged: a tiny model may answer badly and still work)

Run by ``Provider.complete`` once per process when ``tool_protocol`` is "auto" and the provider
``needs_preflight()`` (an OpenAI-compatible server that is not OpenAI's own). Its usage counts
in the first request's.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from ..errors import BadResponse, ToolsUnsupported
from . import text_protocol

#: the system prompt of a preflight request (test servers may recognise it)
PREFLIGHT_SYSTEM = "Preflight: a one-line check that this server takes tools and images."
PREFLIGHT_TOOL = {
    "name": "report_colour",
    "description": "Report the main colour of the image.",
    "parameters": {
        "type": "object",
        "properties": {"colour": {"type": "string"}},
        "required": ["colour"],
    },
}
PREFLIGHT_TOKENS = 256  # room enough for a reasoning model to get to a short answer


def preflight(provider: Any) -> tuple[str, list[dict]]:
    """Check the server of ``provider`` (a base.Provider; see the module docstring): the
    protocol to use, "native" or "text" (the provider is switched to it), and the usage of
    each preflight request."""
    if not provider.needs_preflight():
        return provider.protocol, []
    request = {
        "system": PREFLIGHT_SYSTEM,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Call report_colour with this image's colour."},
                    {"type": "image", "path": tiny_image()},
                ],
            }
        ],
        "tools": [PREFLIGHT_TOOL],
        "max_tokens": PREFLIGHT_TOKENS,
    }
    if provider.protocol != "text":
        try:
            return "native", [_answer(provider, request).get("usage") or {}]
        except ToolsUnsupported:
            provider.use_text_protocol()
    answer = _answer(provider, text_protocol.as_text_request(request))
    return "text", [answer.get("usage") or {}]


def _answer(provider: Any, request: dict) -> dict:
    """One request with retries; an answer the model botched still counts as an answer."""
    try:
        return provider._send_with_retries(request)
    except BadResponse as exc:  # cut, malformed: the server took the request
        return {"usage": getattr(exc, "partial", {}).get("usage")}


def tiny_image() -> str:
    """A 16 x 16 PNG (made once per process, in the temporary folder)."""
    path = os.path.join(tempfile.gettempdir(), f"viga_preflight_{os.getpid()}.png")
    if not os.path.exists(path):
        from PIL import Image

        Image.new("RGB", (16, 16), (200, 40, 40)).save(path)
    return path
