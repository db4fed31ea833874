"""Prompt caching: breakpoints where the fixed text and the pinned first message end, cache
fields read from both services, and cost as the services price cached tokens. The fake server
computes usage from what it is sent (tests/cache_model.py): a read only for an identical
prefix under a breakpoint."""

import pytest
from PIL import Image

from tests.cache_model import CacheModel, blocks_of
from tests.fake_model_server import fake_server
from viga_addon.agent import cost
from viga_addon.agent import messages as m
from viga_addon.agent.providers import make_provider
from viga_addon.agent.providers.anthropic_provider import add_breakpoints

TOOLS = [
    m.tool(
        name, f"{name}: " + "does a careful thing to the scene. " * 30, {"x": {"type": "string"}}
    )
    for name in ("execute_code", "render_view", "end_round")
]
SYSTEM = "Stage: geometry — Generator\n" + "Rules of the stage, said at length. " * 200
CALL = {"name": "render_view", "arguments": {"x": "front"}}


@pytest.fixture
def server():
    with fake_server() as s:
        s.cache = True
        yield s


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    Image.new("RGB", (640, 480), (10, 200, 30)).save(path)
    return str(path)


def conversation(photo, turns):
    messages = [m.user(m.text("Reference photo:"), m.image(photo), m.text("Scene now: " * 50))]
    for n in range(turns):
        messages.append(
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_call",
                        "id": f"c{n}",
                        "name": "render_view",
                        "arguments": {"x": "front"},
                    }
                ],
            }
        )
        messages.append(m.user(m.tool_result(f"c{n}", [m.text(f"rendered view {n} " * 40)])))
    return messages


def request(messages):
    return {"system": SYSTEM, "messages": messages, "tools": TOOLS, "max_tokens": 512}


def test_breakpoints_mark_system_photo_first_message_and_newest_turn():
    kwargs = {
        "tools": [{"name": "a"}, {"name": "b"}],
        "system": [{"type": "text", "text": "s"}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Reference photo:"},
                    {"type": "image"},
                    {"type": "text", "text": "Round 2 of 5 …"},
                ],
            },
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t"}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]},
        ],
    }
    assert add_breakpoints(kwargs) == 4
    marked = [
        kwargs["system"][0],  # tools and system: the same for every request of stage and role
        kwargs["messages"][0]["content"][1],  # the photo: the same for every conversation
        kwargs["messages"][0]["content"][2],  # the pinned first message
        kwargs["messages"][2]["content"][0],  # the newest turn
    ]
    assert all(b.get("cache_control") == {"type": "ephemeral"} for b in marked)
    assert not any("cache_control" in t for t in kwargs["tools"])
    assert "cache_control" not in kwargs["messages"][1]["content"][0]
    one = {"messages": [{"role": "user", "content": [{"type": "text", "text": "only"}]}]}
    assert add_breakpoints(one) == 1  # the first message is the newest: one mark, not two
    bare = {"tools": [{"name": "a"}], "messages": one["messages"]}
    assert add_breakpoints(bare) == 2 and bare["tools"][0]["cache_control"]


def test_a_new_conversation_reads_the_photo_prefix_of_an_earlier_one(server, photo):
    p = make_provider("anthropic", model="claude-sonnet-4-6", api_key="k", base_url=server.url)
    for n in (1, 2):  # two rounds: the same photo first, then round-specific text
        messages = conversation(photo, 0)
        messages[0]["content"][2] = m.text(f"Round {n}: scene now " * 50)
        server.queue({"tool_calls": [CALL]})
        p.complete(request(messages))
    first, second = server.cache_usage
    blocks = blocks_of("anthropic", server.requests[-1]["body"])
    through_photo = sum(b[1] for b in blocks[: len(TOOLS) + 1 + 3])  # + role, text, photo
    assert second["cache_read_tokens"] == through_photo
    assert second["cache_write_tokens"] == first["cache_write_tokens"] - through_photo


@pytest.mark.smoke
def test_anthropic_conversation_writes_once_then_reads_its_prefix(server, photo):
    p = make_provider("anthropic", model="claude-sonnet-4-6", api_key="k", base_url=server.url)
    usages = []
    for turns in range(3):  # one conversation, growing by a turn per request (append-only)
        server.queue({"tool_calls": [CALL], "usage": {"output_tokens": 40}})
        usages.append(p.complete(request(conversation(photo, turns)))["usage"])

    bodies = [r["body"] for r in server.requests]
    assert [c["breakpoints"] for c in server.cache_usage] == [3, 4, 4]
    assert all(b["system"][-1]["cache_control"] for b in bodies)
    first, second, third = usages
    assert first["cache_read_tokens"] == 0 and first["cache_write_tokens"] > 2000
    # the next request reads all of the previous one and writes only its new turn
    assert second["cache_read_tokens"] == first["cache_write_tokens"]
    assert 0 < second["cache_write_tokens"] < first["cache_write_tokens"] / 4
    assert third["cache_read_tokens"] == second["cache_read_tokens"] + second["cache_write_tokens"]
    assert all(u["input_tokens"] < 50 for u in usages)  # everything else went through the cache

    price_in, price_out = 3.0, 15.0
    expected = (
        third["input_tokens"] * price_in
        + third["cache_write_tokens"] * price_in * 1.25
        + third["cache_read_tokens"] * price_in * 0.1
        + 40 * price_out
    ) / 1e6
    assert p.cost(third) == pytest.approx(expected)


def test_a_changed_prefix_is_not_read_from_the_cache(server, photo):
    p = make_provider("anthropic", model="claude-sonnet-4-6", api_key="k", base_url=server.url)
    server.queue({"tool_calls": [CALL]}, {"tool_calls": [CALL]})
    p.complete(request(conversation(photo, 1)))
    edited = conversation(photo, 1)
    edited[0]["content"][2] = m.text("Scene now (rewritten): " * 50)  # compaction-style edit
    usage = p.complete(request(edited))["usage"]
    # tools, system and the photo still hit; what follows the edit is paid again
    blocks = blocks_of("anthropic", server.requests[-1]["body"])
    fixed = sum(tokens for _text, tokens, _mark in blocks[: len(TOOLS) + 1 + 3])
    assert usage["cache_read_tokens"] == fixed
    assert usage["cache_write_tokens"] == sum(b[1] for b in blocks) - fixed - usage["input_tokens"]


def test_the_fake_refuses_more_than_four_breakpoints_as_the_api_does(server):
    import anthropic

    client = anthropic.Anthropic(api_key="k", base_url=server.url, max_retries=0)
    mark = {"type": "ephemeral"}
    content = [{"type": "text", "text": f"part {i}", "cache_control": mark} for i in range(5)]
    server.queue({"text": "hi"})
    with pytest.raises(anthropic.BadRequestError, match="maximum of 4 blocks"):
        client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=10,
            messages=[{"role": "user", "content": content}],
        )


@pytest.mark.smoke
def test_openai_cached_tokens_are_read_and_priced_at_the_cached_price(server, photo):
    p = make_provider(
        "openai",
        model="gpt-5",
        api_key="k",
        base_url=server.url + "/v1",
        free=False,
        tool_protocol="native",
    )
    usages = []
    for turns in range(2):
        server.queue({"tool_calls": [CALL], "usage": {"output_tokens": 40}})
        usages.append(p.complete(request(conversation(photo, turns)))["usage"])
    assert usages[0]["cache_read_tokens"] == 0
    assert usages[1]["cache_read_tokens"] >= 1024 and usages[1]["cache_read_tokens"] % 128 == 0
    assert usages[1]["cache_write_tokens"] == 0
    u = usages[1]
    expected = (u["input_tokens"] * 1.25 + u["cache_read_tokens"] * 0.125 + 40 * 10.0) / 1e6
    assert p.cost(u) == pytest.approx(expected)


def test_openai_own_api_gets_the_conversation_as_prompt_cache_key(server, photo):
    p = make_provider(
        "openai", model="gpt-5", api_key="k", base_url=server.url + "/v1", tool_protocol="native"
    )
    p._own_service = lambda: True  # the fake stands in for api.openai.com
    server.queue({"tool_calls": [CALL]})
    p.complete({**request(conversation(photo, 0)), "conversation": "run-1/geometry/generator/2"})
    assert server.requests[-1]["body"]["prompt_cache_key"] == "run-1/geometry/generator/2"


def test_cost_prices_cache_writes_and_reads_per_service():
    usage = {
        "input_tokens": 1_000_000,
        "output_tokens": 0,
        "cache_write_tokens": 1_000_000,
        "cache_read_tokens": 1_000_000,
    }
    assert cost.estimate_cost("claude-sonnet-4-6", usage) == pytest.approx(3 + 3.75 + 0.3)
    assert cost.estimate_cost("claude-opus-4-7", usage) == pytest.approx(5 + 6.25 + 0.5)
    assert cost.estimate_cost("gpt-5", usage) == pytest.approx(1.25 + 1.25 + 0.125)
    assert cost.estimate_cost("gpt-4o-2024-08-06", usage) == pytest.approx(2.5 + 2.5 + 1.25)


def test_cache_model_reads_only_identical_prefixes_under_a_breakpoint():
    model = CacheModel("anthropic", min_tokens=10)
    text = "x" * 400
    base = {"system": [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]}
    one = {**base, "messages": [{"role": "user", "content": [{"type": "text", "text": "a"}]}]}
    assert model.usage(one)["cache_write_tokens"] > 0
    assert model.usage(one)["cache_read_tokens"] > 0
    unmarked = {"system": [{"type": "text", "text": text}], "messages": one["messages"]}
    assert model.usage(unmarked)["cache_read_tokens"] == 0  # no breakpoint: no read
