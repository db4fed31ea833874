"""Token counts and prompt-cache hits of a request body, as the two services compute them.

Used by the fake model server (its reported usage) and by bench/cost_bench.py (what a run
would cost), so both price the same cache behaviour:

* Anthropic: a cache entry is written for the prefix (tools → system → messages, block by
  block) ending at each ``cache_control`` breakpoint, at most 4 per request, when that prefix
  holds at least ``min_tokens`` tokens. A later request reads the longest earlier-written
  prefix that is identical block for block and ends at or before one of its own breakpoints
  (the service looks back up to 20 blocks from each breakpoint). What lies between that and
  the last breakpoint is written; the rest is plain input.
* OpenAI: no breakpoints; a prompt of at least 1,024 tokens reads the longest prefix it shares
  with an earlier request, in steps of 128 tokens.

Tokens are estimated as characters / 4 for text and JSON; an image as the services count it
(Claude: width × height / 750; OpenAI: 85 + 170 per 512-px tile of the image fitted to 768 px
on the short side).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math

MAX_BREAKPOINTS = 4
LOOKBACK = 20  # blocks before a breakpoint the service checks for an earlier entry


def image_tokens(wire: str, width: int, height: int) -> int:
    """Input tokens of one image of ``width`` x ``height`` px as ``wire``'s service counts it."""
    if wire == "anthropic":
        scale = min(1.0, 1568 / max(width, height))
        return math.ceil(width * scale * height * scale / 750)
    scale = min(1.0, 2048 / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)


def _data_size(data: str) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(data))) as img:
        return img.size


def blocks_of(wire: str, body: dict) -> list[tuple[str, int, bool]]:
    """The body as (canonical text, tokens, breakpoint here) blocks, in the order the service
    caches them."""
    out: list[tuple[str, int, bool]] = []

    def add(obj: object, tokens: int | None = None) -> None:
        mark = isinstance(obj, dict) and "cache_control" in obj
        clean = {k: v for k, v in obj.items() if k != "cache_control"} if mark else obj
        text = json.dumps(clean, sort_keys=True)
        out.append((text, tokens if tokens is not None else max(1, len(text) // 4), mark))

    def add_content(role: str, content: object) -> None:
        if isinstance(content, str):
            add({"role": role, "text": content})
            return
        for block in content or []:
            add(block, _block_tokens(wire, block))

    for tool in body.get("tools") or []:
        add(tool)
    system = body.get("system")
    if isinstance(system, str):
        add({"system": system})
    elif isinstance(system, list):
        for block in system:
            add(block)
    for message in body.get("messages") or []:
        add({"role": message.get("role")}, 4)
        add_content(message.get("role"), message.get("content"))
        if message.get("tool_calls"):
            add({"tool_calls": message["tool_calls"]})
    return out


def _block_tokens(wire: str, block: object) -> int | None:
    if not isinstance(block, dict):
        return None
    if block.get("type") == "image":
        return image_tokens(wire, *_data_size(block["source"]["data"]))
    if block.get("type") == "image_url":
        return image_tokens(wire, *_data_size(block["image_url"]["url"].split(",", 1)[1]))
    if block.get("type") == "tool_result" and isinstance(block.get("content"), list):
        inner = [_block_tokens(wire, b) for b in block["content"]]
        text = json.dumps({k: v for k, v in block.items() if k not in ("content", "cache_control")})
        return len(text) // 4 + sum(
            n if n is not None else len(json.dumps(b)) // 4
            for n, b in zip(inner, block["content"], strict=True)
        )
    return None


class CacheModel:
    """The prompt cache of one service (``wire`` "anthropic" or "openai"), across requests."""

    def __init__(self, wire: str, min_tokens: int = 1024) -> None:
        self.wire = wire
        self.min_tokens = min_tokens
        self._entries: set[str] = set()  # Anthropic: hashes of written prefixes
        self._prompts: list[list[str]] = []  # OpenAI: the block texts of earlier prompts

    def usage(self, body: dict) -> dict:
        """{"input_tokens" (uncached), "cache_write_tokens", "cache_read_tokens",
        "breakpoints"} for ``body``; ValueError for more than 4 breakpoints."""
        blocks = blocks_of(self.wire, body)
        total = sum(b[1] for b in blocks)
        if self.wire == "openai":
            return self._openai(blocks, total)
        marks = [i for i, b in enumerate(blocks) if b[2]]
        if len(marks) > MAX_BREAKPOINTS:
            raise ValueError(
                f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. "
                f"Found {len(marks)}."
            )
        hashes, sums, digest, running = [], [], hashlib.sha256(), 0
        for text, tokens, _mark in blocks:
            digest.update(text.encode())
            hashes.append(digest.copy().hexdigest())
            running += tokens
            sums.append(running)
        read_end = -1
        for mark in marks:
            for i in range(mark, max(-1, mark - LOOKBACK - 1), -1):
                if hashes[i] in self._entries:
                    read_end = max(read_end, i)
                    break
        read = sums[read_end] if read_end >= 0 else 0
        write = 0
        for mark in marks:
            if sums[mark] >= self.min_tokens and hashes[mark] not in self._entries:
                self._entries.add(hashes[mark])
        last = marks[-1] if marks else -1
        if last > read_end and sums[last] >= self.min_tokens:
            write = sums[last] - read
        return {
            "input_tokens": total - read - write,
            "cache_write_tokens": write,
            "cache_read_tokens": read,
            "breakpoints": len(marks),
        }

    def _openai(self, blocks: list[tuple[str, int, bool]], total: int) -> dict:
        texts = [b[0] for b in blocks]
        best = 0
        for earlier in self._prompts:
            shared = 0
            for a, b, block in zip(earlier, texts, blocks, strict=False):
                if a != b:
                    break
                shared += block[1]
            best = max(best, shared)
        self._prompts.append(texts)
        cached = (best // 128) * 128 if total >= 1024 and best >= 1024 else 0
        return {
            "input_tokens": total - cached,
            "cache_write_tokens": 0,
            "cache_read_tokens": cached,
            "breakpoints": 0,
        }
