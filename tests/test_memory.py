"""What the model sees under the compact memory policy."""

import pytest

from viga_addon.agent import memory
from viga_addon.agent import messages as msg

pytestmark = pytest.mark.smoke


def _conversation(rounds=5):
    messages = [msg.user(msg.image("photo.png"), msg.text("Reference photo"))]
    for n in range(rounds):
        code = f"# round {n}\n" + "x = 1\n" * 400
        messages.append(
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_call",
                        "id": f"c{n}",
                        "name": "execute_code",
                        "arguments": {"code": code},
                    }
                ],
            }
        )
        messages.append(
            {
                "role": "user",
                "content": [
                    msg.tool_result(f"c{n}", [msg.text("ok " * 500), msg.image(f"render_{n}.png")])
                ],
            }
        )
    return messages


def test_full_policy_sends_everything_unchanged():
    conv = _conversation()
    assert memory.compact(conv, "full") is conv


def test_compact_pins_the_photo_keeps_latest_renders_and_shrinks_old_text():
    conv = _conversation(rounds=10)
    sent = memory.compact(conv, "compact", keep_images=2)
    assert sent[0]["content"][0] == msg.image("photo.png")
    assert msg.images_in(sent) == 3
    kept = [
        q["path"]
        for m in sent
        for p in m["content"]
        if p["type"] == "tool_result"
        for q in p["content"]
        if q["type"] == "image"
    ]
    assert kept == ["render_8.png", "render_9.png"]
    old_call = sent[1]["content"][0]["arguments"]["code"]
    assert len(old_call) < 700 and "omitted" in old_call
    new_call = sent[-2]["content"][0]["arguments"]["code"]
    assert new_call == conv[-2]["content"][0]["arguments"]["code"]
    assert len(str(sent)) < 0.6 * len(str(conv))
    assert conv[1]["content"][0]["arguments"]["code"].count("x = 1") == 400  # input untouched


def test_every_image_of_the_first_message_stays_pinned():
    """The verifier's first message holds the photo and the attempt it judges: after many
    viewpoint renders both are still sent, whatever keep_images says."""
    first = msg.user(
        msg.text("Reference photo:"),
        msg.image("photo.png"),
        msg.text("Attempt of round 2:"),
        msg.image("attempt.png"),
    )
    conv = [first]
    for n in range(3):  # initialize_viewpoint: four views per call
        conv.append(
            {
                "role": "user",
                "content": [
                    msg.tool_result(f"v{n}", [msg.image(f"view_{n}_{k}.png") for k in range(4)])
                ],
            }
        )
    sent = memory.compact(conv, "compact", keep_images=2, pin_first_message=True)
    assert [p["path"] for p in sent[0]["content"] if p["type"] == "image"] == [
        "photo.png",
        "attempt.png",
    ]
    assert msg.images_in(sent) == 4  # the two pinned, the two newest views


def test_the_generator_pins_only_its_photo():
    first = msg.user(msg.image("photo.png"), msg.image("before_round_1.png"))
    conv = [first] + [msg.user(msg.image(f"before_round_{n}.png")) for n in range(2, 6)]
    sent = memory.compact(conv, "compact", keep_images=2)
    kept = [p["path"] for m in sent for p in m["content"] if p["type"] == "image"]
    assert kept == ["photo.png", "before_round_4.png", "before_round_5.png"]
