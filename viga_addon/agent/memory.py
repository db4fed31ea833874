"""What the model sees: the photo stays pinned, older renders are dropped, old tool output shrinks.

The verifier's first message holds what it judges — the photo, the attempt, the two side by
side, the sheet of attempts — so for it every image of that message is pinned: a verifier that
looks around with viewpoint renders never loses the render it judges.
The "full" policy keeps everything (the baseline the benchmarks compare against).
"""

from __future__ import annotations

import copy

DROPPED_IMAGE = "[older render dropped to save context]"


def _image_slots(messages):
    """(message index, part index, inner index or None) for every image, in order."""
    for mi, message in enumerate(messages):
        for pi, part in enumerate(message["content"]):
            if part["type"] == "image":
                yield mi, pi, None
            elif part["type"] == "tool_result":
                for ii, inner in enumerate(part["content"]):
                    if inner["type"] == "image":
                        yield mi, pi, ii


def compact(
    messages: list[dict],
    policy: str = "compact",
    keep_images: int = 2,
    keep_full_text_messages: int = 6,
    text_cap: int = 600,
    pin_first_message: bool = False,
) -> list[dict]:
    """Return the messages to send under ``policy`` ("compact" or "full"); input is unchanged.

    compact: the first image (the photo) — with ``pin_first_message`` every image of the
    first message (the verifier's: the photo and the attempt it judges) — and the last
    ``keep_images`` other images are kept; earlier ones become a short text note. Text of
    tool results older than the last ``keep_full_text_messages`` messages is cut to
    ``text_cap`` characters. (The generator pins only its photo: its first message's render
    grows stale over the rounds.)
    """
    if policy == "full":
        return messages
    out = copy.deepcopy(messages)
    first = [slot for slot in _image_slots(out) if slot[0] == 0]
    keep = set(first if pin_first_message else first[:1])
    slots = [slot for slot in _image_slots(out) if slot not in keep]
    drop = slots[:-keep_images] if keep_images else slots
    for mi, pi, ii in drop:
        if ii is None:
            out[mi]["content"][pi] = {"type": "text", "text": DROPPED_IMAGE}
        else:
            out[mi]["content"][pi]["content"][ii] = {"type": "text", "text": DROPPED_IMAGE}
    old = max(0, len(out) - keep_full_text_messages)
    for message in out[1:old]:
        for part in message["content"]:
            if part["type"] == "tool_call":
                code = (
                    part["arguments"].get("code") if isinstance(part["arguments"], dict) else None
                )
                if isinstance(code, str) and len(code) > text_cap:
                    # the scene already holds its effect; get_scene_info shows the result
                    part["arguments"] = {
                        **part["arguments"],
                        "code": code[:text_cap] + "\n# …[rest of this earlier code omitted]",
                    }
            elif part["type"] == "tool_result":
                for inner in part["content"]:
                    if inner["type"] == "text" and len(inner["text"]) > text_cap:
                        inner["text"] = inner["text"][:text_cap] + " …[cut]"
    return out
