"""Servers without native tools: the preflight, the text protocol and what each refusal does,
with the real openai SDK against the fake server (which refuses tools as Ollama does)."""

import json

import pytest
from PIL import Image

from tests.fake_model_server import fake_server
from viga_addon.agent import messages as m
from viga_addon.agent.errors import (
    BadResponse,
    Disposition,
    ImagesUnsupported,
    MalformedToolCall,
    RequestRefused,
    ToolsUnsupported,
)
from viga_addon.agent.providers import make_provider
from viga_addon.agent.providers import text_protocol as tp

TOOL = m.tool("execute_code", "Run bpy code.", {"code": {"type": "string"}}, ["code"])
CALL = {"name": "execute_code", "arguments": {"code": "import bpy"}}


@pytest.fixture
def server():
    with fake_server() as s:
        yield s


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    Image.new("RGB", (64, 48), (10, 200, 30)).save(path)
    return str(path)


def provider(server, **opts):
    opts.setdefault("base_delay", 0.001)
    return make_provider("openai", model="llava", base_url=server.url + "/v1", **opts)


def request(photo, *more):
    return {
        "system": "Stage: geometry — Generator",
        "messages": [m.user(m.text("Rebuild this."), m.image(photo)), *more],
        "tools": [TOOL],
        "max_tokens": 512,
    }


# -- parsing ----------------------------------------------------------------------------------
def test_parse_reads_the_first_json_fence_and_keeps_the_prose():
    text = 'I add a cube.\n```json\n{"tool": "execute_code", "arguments": {"code": "x=1"}}\n```'
    prose, call = tp.split_reply(text, {"execute_code"})
    assert prose == "I add a cube."
    assert call["name"] == "execute_code" and call["arguments"] == {"code": "x=1"}
    assert call["id"]


def test_parse_reads_a_bare_object_and_an_inline_fence():
    bare = 'Sure: {"tool": "end_round", "arguments": {}} done'
    assert tp.parse_reply(bare, {"end_round"})["name"] == "end_round"
    inline = '```json {"tool": "end_round", "arguments": {"summary": "ok"}}```'
    assert tp.parse_reply(inline, {"end_round"})["arguments"] == {"summary": "ok"}


@pytest.mark.parametrize(
    "text, words",
    [
        ("I think the scene is fine.", "no JSON tool call"),
        ('```json\n{"tool": "execute_code", "arguments": "x"}\n```', "object of arguments"),
        ('```json\n{"tool": "rm_rf", "arguments": {}}\n```', "Unknown tool 'rm_rf'"),
    ],
)
def test_parse_refuses_what_is_not_one_known_call(text, words):
    with pytest.raises(MalformedToolCall, match=words):
        tp.parse_reply(text, {"execute_code", "end_round"})


def test_text_request_carries_the_tools_in_the_system_prompt_and_calls_as_text(photo):
    assistant = {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "ok"},
            {"type": "tool_call", "id": "c1", "name": "execute_code", "arguments": {"code": "x"}},
        ],
    }
    result = m.user(m.tool_result("c1", [m.text("done"), m.image(photo)], False))
    out = tp.as_text_request(request(photo, assistant, result))
    assert "tools" not in out and "tool_choice" not in out
    assert out["system"].startswith("Stage: geometry — Generator")
    assert tp.PROTOCOL in out["system"] and "- execute_code: Run bpy code." in out["system"]
    kinds = [[p["type"] for p in msg["content"]] for msg in out["messages"]]
    assert kinds == [["text", "image"], ["text", "text"], ["text", "text", "image"]]
    assert '"tool": "execute_code"' in out["messages"][1]["content"][1]["text"]
    assert out["messages"][2]["content"][0]["text"] == "Result of execute_code:"


# -- the preflight and the fallback -------------------------------------------------------------
@pytest.mark.smoke
def test_preflight_finds_no_tools_and_the_run_goes_on_in_text(server, photo):
    server.reject_tools = True
    server.queue({"text": "Adding a cube.", "tool_calls": [CALL]})
    p = provider(server)
    response = p.complete(request(photo))

    assert response["protocol"] == "text" and p.protocol == "text"
    assert response["tool_calls"][0]["name"] == "execute_code"
    assert response["tool_calls"][0]["arguments"] == CALL["arguments"]
    assert response["text"] == "Adding a cube."  # the call is not kept twice
    # the preflight: refused with tools, then the image checked without them
    assert [bool(r["body"].get("tools")) for r in server.preflights] == [True, False]
    assert len(server.requests) == 1  # the real request went as text at once
    sent = server.requests[0]["body"]
    assert "tools" not in sent and tp.PROTOCOL in sent["messages"][0]["content"]
    # a second request goes as text at once, without a preflight
    server.queue({"tool_calls": [{"name": "execute_code", "arguments": {"code": "y"}}]})
    again = p.complete(request(photo))
    assert again["tool_calls"][0]["arguments"] == {"code": "y"}
    assert len(server.preflights) == 2 and "tools" not in server.requests[-1]["body"]


def test_a_server_with_tools_stays_native_after_its_preflight(server, photo):
    server.queue({"tool_calls": [CALL]})
    p = provider(server)
    response = p.complete(request(photo))
    assert response["protocol"] == "native" and len(server.preflights) == 1
    assert server.preflights[0]["body"]["tools"][0]["function"]["name"] == "report_colour"
    assert server.requests[-1]["body"]["tools"][0]["function"]["name"] == "execute_code"


def test_native_protocol_on_a_server_without_tools_fails_at_once_naming_the_server(server, photo):
    server.reject_tools = True
    p = provider(server, tool_protocol="native")
    with pytest.raises(ToolsUnsupported) as info:
        p.complete(request(photo))
    text = str(info.value)
    assert f"The server at {server.url}/v1 refused tools" in text
    assert "does not support tools" in text and "--tool-protocol text" in text
    assert "OpenAI" not in text
    assert info.value.disposition is Disposition.FATAL
    assert len(server.requests) == 1  # not retried: every later request would be refused too
    assert not server.preflights  # "native" was asked for: nothing to find out


def test_a_server_without_images_fails_the_preflight_with_a_clear_message(server, photo):
    server.reject_images = True
    with pytest.raises(ImagesUnsupported, match="needs a vision model") as info:
        provider(server).complete(request(photo))
    assert "does not support image input" in str(info.value)
    assert len(server.preflights) == 1 and not server.requests  # no real request was sent


def test_a_malformed_text_reply_is_asked_again(server, photo):
    server.reject_tools = True
    server.queue({"text": "Let me think about the scene."}, {"tool_calls": [CALL]})
    p = provider(server, tool_protocol="text")
    response = p.complete(request(photo))
    assert response["tool_calls"][0]["name"] == "execute_code"
    assert not server.preflights  # "text" was asked for: nothing to find out
    nudge = server.requests[-1]["body"]["messages"][-1]["content"]
    assert "exactly one fenced block" in json.dumps(nudge)


def test_text_replies_that_never_call_a_tool_fail_the_round(server, photo):
    server.queue(*[{"text": "no idea"}] * 3)
    p = provider(server, tool_protocol="text", reask=2)
    with pytest.raises(BadResponse, match="still malformed"):
        p.complete(request(photo))


@pytest.mark.smoke
def test_a_server_answering_400_to_everything_is_a_fatal_refusal(server, photo):
    server.reject_all = "model 'llava-typo' not found, try pulling it first"
    with pytest.raises(RequestRefused) as info:
        provider(server).complete(request(photo))
    assert info.value.disposition is Disposition.FATAL and info.value.exit_code == 2
    assert "llava-typo' not found" in str(info.value)
    assert f"The server at {server.url}/v1 refused the request (HTTP 400)" in str(info.value)
    assert len(server.preflights) == 1 and not server.requests  # the preflight was refused
