"""Room to reason, on the wire: tool choice "auto" (the model may write text, and is asked
again when it calls no tool), free-text fields (submit_verdict's analysis, execute_code's
intent), Claude's extended thinking and GPT's reasoning effort only where set and taken, and a
reply cut at its output-token limit asked again once with more room, else a clean failure.
Through the real anthropic and openai SDKs against tests/fake_model_server.py."""

from __future__ import annotations

import json

import pytest

from tests.fake_model_server import fake_server
from viga_addon.agent import messages as m
from viga_addon.agent.errors import (
    BadResponse,
    ConfigError,
    Disposition,
    TruncatedReply,
    from_wire,
    to_wire,
)
from viga_addon.agent.providers import make_provider, models
from viga_addon.agent.session import modeltools
from viga_addon.agent.settings import DEFAULTS, LIMITS, Settings

KEY = "sk-test-REASON-0123456789abcdef"
WIRES = ("anthropic", "openai")
TOOL = m.tool("execute_code", "Run bpy code.", {"code": {"type": "string"}}, ["code"])
CALL = {"name": "execute_code", "arguments": {"code": "import bpy"}}


@pytest.fixture
def server():
    with fake_server() as s:
        yield s


def provider_for(name, server, **opts):
    opts.setdefault("base_delay", 0.001)
    opts.setdefault("tool_protocol", "native")  # no preflight: these count one request's usage
    url = server.url if name == "anthropic" else server.url + "/v1"
    return make_provider(name, api_key=KEY, base_url=url, **opts)


def request(*messages, max_tokens=512, **fields):
    return {
        "system": "Stage: geometry — Generator",
        "messages": list(messages) or [m.user(m.text("Build the scene."))],
        "tools": [TOOL],
        "max_tokens": max_tokens,
        "meta": {"stage": "geometry", "role": "generator", "round": 1, "turn": 0},
        **fields,
    }


def limit_of(name, body):
    if name == "anthropic":
        return body["max_tokens"]
    return body.get("max_completion_tokens") or body.get("max_tokens")


def choice_of(name, body):
    return body["tool_choice"]["type"] if name == "anthropic" else body["tool_choice"]


# -- tool choice: text is welcome, a tool call is still needed ----------------------------------
@pytest.mark.smoke
@pytest.mark.parametrize("name", WIRES)
def test_tool_choice_auto_lets_the_model_think_in_text_then_it_is_asked_for_a_tool(name, server):
    thought = "The box looks too short; I will scale it before I render."
    server.queue({"text": thought}, {"text": "Scaling now.", "tool_calls": [CALL]})
    provider = provider_for(name, server)
    response = provider.complete(request())

    assert response["tool_calls"][0]["arguments"] == CALL["arguments"]
    assert response["text"] == "Scaling now."
    assert provider.stats["reasks"] == 1
    assert response["usage"]["input_tokens"] == 240 and response["usage"]["output_tokens"] == 60
    first, second = (r["body"] for r in server.requests)
    assert choice_of(name, first) == choice_of(name, second) == "auto"
    sent = json.dumps(second["messages"])
    assert thought in sent  # the model's text goes back as its own turn
    assert "You may think in text first" in sent and "`analysis`" in sent and "`intent`" in sent


@pytest.mark.parametrize("name", WIRES)
@pytest.mark.parametrize("how", ["option", "request"])
def test_tool_choice_required_is_there_for_servers_that_need_it(name, how, server):
    server.queue({"tool_calls": [CALL]})
    if how == "option":
        provider_for(name, server, tool_choice="required").complete(request())
    else:
        provider_for(name, server).complete(request(tool_choice="required"))
    expected = "any" if name == "anthropic" else "required"
    assert choice_of(name, server.requests[-1]["body"]) == expected


def test_a_tool_choice_that_is_neither_is_a_config_error():
    with pytest.raises(ConfigError, match="tool_choice"):
        make_provider("anthropic", api_key=KEY, tool_choice="sometimes")


# -- a reply cut at the limit -------------------------------------------------------------------
@pytest.mark.smoke
@pytest.mark.parametrize("name", WIRES)
def test_a_cut_reply_is_asked_again_once_with_twice_the_limit(name, server):
    server.queue({"fault": "cut", "tool_calls": [CALL]}, {"tool_calls": [CALL]})
    provider = provider_for(name, server)
    response = provider.complete(request(max_tokens=512))

    assert response["tool_calls"][0]["arguments"] == CALL["arguments"]
    assert [limit_of(name, r["body"]) for r in server.requests] == [512, 1024]
    assert provider.stats["cuts"] == 1 and provider.stats["reasks"] == 0
    # the cut reply is billed too: its 512 output tokens count
    assert response["usage"]["output_tokens"] == 512 + 30
    # nothing of the cut reply goes into the second request
    assert server.requests[0]["body"]["messages"] == server.requests[1]["body"]["messages"]


@pytest.mark.smoke
@pytest.mark.parametrize("name", WIRES)
def test_a_second_cut_fails_the_round_with_a_clear_message(name, server):
    server.queue(*[{"fault": "cut", "tool_calls": [CALL]}] * 3)
    with pytest.raises(TruncatedReply) as info:
        provider_for(name, server).complete(request(max_tokens=512))
    message = str(info.value)
    assert "cut at 1024 output tokens" in message and "raise --max-tokens" in message
    assert info.value.disposition is Disposition.FAIL_ROUND and isinstance(info.value, BadResponse)
    assert len(server.requests) == 2 and server.pending == 1
    back = from_wire(to_wire(info.value))  # what the session gets from the worker
    assert type(back) is TruncatedReply and str(back) == message


@pytest.mark.parametrize(
    ("name", "model", "cap"),
    [("anthropic", "claude-3-5-sonnet-20241022", 8192), ("openai", "gpt-4o", 16384)],
)
def test_the_limit_is_capped_per_model_and_a_cut_at_the_cap_is_not_asked_again(
    name, model, cap, server
):
    server.queue({"fault": "cut", "tool_calls": [CALL]}, {"tool_calls": [CALL]})
    provider = provider_for(name, server, model=model)
    with pytest.raises(TruncatedReply, match=f"cut at {cap} output tokens, the most {model}"):
        provider.complete(request(max_tokens=50_000))
    assert [limit_of(name, r["body"]) for r in server.requests] == [cap]


@pytest.mark.parametrize(
    ("name", "refusal"),
    [
        (
            "openai",
            "max_tokens is too large: 16384. This model supports at most 4096 completion "
            "tokens, whereas you provided 16384.",
        ),
        (
            "anthropic",
            "max_tokens: 16384 > 4096, which is the maximum allowed number of output tokens "
            "for claude-old",
        ),
    ],
)
def test_a_limit_the_service_refuses_is_sent_again_within_the_one_it_names(name, refusal, server):
    server.queue(
        {"fault": "400", "message": refusal}, {"tool_calls": [CALL]}, {"tool_calls": [CALL]}
    )
    provider = provider_for(name, server, model="some-model")
    provider.complete(request(max_tokens=16384))
    provider.complete(request(max_tokens=16384))  # remembered: no second refusal
    assert [limit_of(name, r["body"]) for r in server.requests] == [16384, 4096, 4096]


def test_a_long_limit_waits_longer_for_its_reply(server):
    provider = provider_for("anthropic", server)
    assert provider.request_timeout(512) == 120.0
    assert provider.request_timeout(16_384) == 480.0
    # a timeout given is one request's limit as it is (tests and callers that want it short)
    assert provider_for("anthropic", server, timeout=10.0).request_timeout(16_384) == 10.0


# -- extended thinking (Claude) -----------------------------------------------------------------
@pytest.mark.smoke
def test_thinking_reaches_the_wire_only_when_set(server):
    server.queue(*[{"tool_calls": [CALL]}] * 3)
    provider = provider_for("anthropic", server, model="claude-sonnet-4-6")
    provider.complete(request(max_tokens=8192))
    provider.complete(request(max_tokens=8192, thinking=0))
    provider.complete(request(max_tokens=8192, thinking=2048))
    bodies = [r["body"] for r in server.requests]
    assert "thinking" not in bodies[0] and "thinking" not in bodies[1]
    assert bodies[2]["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert bodies[2]["max_tokens"] == 8192 and bodies[2]["tool_choice"] == {"type": "auto"}


def test_thinking_forms_per_model(server):
    server.queue(*[{"tool_calls": [CALL]}] * 3)
    for model in ("claude-opus-4-7", "claude-3-5-sonnet-20241022"):
        provider_for("anthropic", server, model=model).complete(
            request(max_tokens=8192, thinking=4096)
        )
    # thinking forces tool choice auto, whatever was asked for
    provider_for("anthropic", server, model="claude-sonnet-4-6", tool_choice="required").complete(
        request(max_tokens=4096, thinking=8000)
    )
    adaptive, none, squeezed = (r["body"] for r in server.requests)
    assert adaptive["thinking"] == {"type": "adaptive"}  # 4.7 refuses budget_tokens
    assert "thinking" not in none  # Claude 3.5 has no extended thinking
    assert squeezed["thinking"] == {"type": "enabled", "budget_tokens": 4096 - 1024}
    assert squeezed["tool_choice"] == {"type": "auto"}


@pytest.mark.smoke
def test_thinking_blocks_go_back_before_their_tool_calls(server):
    """The fake server refuses, as the API does, a tool loop whose last assistant turn does
    not start with its thinking block."""
    server.queue(
        {"thinking": "The photo shows a tall box.", "tool_calls": [CALL]},
        {"tool_calls": [CALL]},
        {"tool_calls": [CALL]},
    )
    provider = provider_for("anthropic", server, model="claude-sonnet-4-6")
    first = provider.complete(request(max_tokens=8192, thinking=2048))
    call = first["tool_calls"][0]
    history = [
        m.user(m.text("Build the scene.")),
        {"role": "assistant", "content": [{"type": "tool_call", **call}]},
        m.user(m.tool_result(call["id"], [m.text("ok")])),
    ]
    provider.complete(request(*history, max_tokens=8192, thinking=2048))
    sent = server.requests[1]["body"]
    assert sent["thinking"]["type"] == "enabled"
    assistant = sent["messages"][1]["content"]
    assert assistant[0]["type"] == "thinking"
    assert assistant[0]["thinking"] == "The photo shows a tall box."
    assert assistant[0]["signature"].startswith("sig-")
    assert assistant[1]["type"] == "tool_use" and assistant[1]["id"] == call["id"]

    # a resumed run: a new process does not know the blocks, so that request goes without
    fresh = provider_for("anthropic", server, model="claude-sonnet-4-6")
    fresh.complete(request(*history, max_tokens=8192, thinking=2048))
    resumed = server.requests[2]["body"]
    assert "thinking" not in resumed and resumed["messages"][1]["content"][0]["type"] == "tool_use"


# -- reasoning effort (GPT-5, o-series) ---------------------------------------------------------
@pytest.mark.smoke
def test_reasoning_effort_reaches_the_wire_only_when_set_and_taken(server):
    server.queue(*[{"tool_calls": [CALL]}] * 4)
    provider_for("openai", server, model="gpt-5").complete(request(reasoning_effort="high"))
    provider_for("openai", server, model="o4-mini").complete(request())
    provider_for("openai", server, model="gpt-4o").complete(request(reasoning_effort="high"))
    provider_for("openai", server, model="llava:13b").complete(request(reasoning_effort="low"))
    gpt5, o4, gpt4o, local = (r["body"] for r in server.requests)
    assert gpt5["reasoning_effort"] == "high"
    # OpenAI's reasoning models take only max_completion_tokens, on any base URL
    assert gpt5["max_completion_tokens"] == 512 and "max_tokens" not in gpt5
    assert "reasoning_effort" not in o4  # not set
    assert "reasoning_effort" not in gpt4o and "reasoning_effort" not in local  # not taken
    assert local["max_tokens"] == 512  # a compatible server keeps the classic name


def test_which_models_take_what():
    assert models.takes_reasoning_effort("gpt-5-mini") and models.takes_reasoning_effort("o3")
    assert models.takes_reasoning_effort("openai/gpt-oss-120b")
    for model in ("gpt-4o", "gpt-4.1", "o1-mini", "gpt-5-chat-latest", "claude-sonnet-4-6"):
        assert not models.takes_reasoning_effort(model), model
    assert models.output_cap("gpt-4o-2024-08-06") == 16384
    assert models.output_cap("gpt-4o-2024-05-13") == 4096
    assert models.output_cap("us.anthropic.claude-3-5-haiku-20241022-v1:0") == 8192
    assert models.output_cap("claude-opus-4-20250514") == 32000
    assert models.output_cap("qwen2.5vl:7b") is None
    assert models.claude_version("claude-sonnet-4-20250514") == (4, 0)
    assert models.claude_version("claude-3-7-sonnet-latest") == (3, 7)
    assert models.larger_limit(512, None) == 1024 and models.larger_limit(8192, 8192) is None
    assert models.cap_from_error(
        "'max_tokens' is too large: 16384. This model's maximum context length is 8192 tokens "
        "and your request has 500 input tokens (16384 > 8192 - 500)."
    ) == (8192 - 500)
    assert models.cap_from_error("Invalid image") is None


# -- usage: thinking and reasoning tokens are output tokens -------------------------------------
@pytest.mark.parametrize(
    ("name", "usage"),
    [
        ("anthropic", {"input_tokens": 1000, "output_tokens": 500, "thinking_tokens": 400}),
        ("openai", {"input_tokens": 1000, "output_tokens": 500, "reasoning_tokens": 400}),
    ],
)
def test_thinking_tokens_are_billed_as_output(name, usage, server, monkeypatch):
    monkeypatch.delenv("VIGA_PRICES", raising=False)
    server.queue({"tool_calls": [CALL], "usage": usage})
    model = "claude-sonnet-4-6" if name == "anthropic" else "gpt-5"
    provider = (
        provider_for(name, server, model=model, free=False)
        if name == "openai"
        else (provider_for(name, server, model=model))
    )
    response = provider.complete(request())
    assert response["usage"]["output_tokens"] == 500  # the services count them inside
    assert response["usage"]["reasoning_tokens"] == 400
    assert response["cost_usd"] == pytest.approx(
        provider.cost({"input_tokens": 1000, "output_tokens": 500})
    )


def test_a_server_that_reports_reasoning_apart_has_it_added_to_output(server):
    server.queue({"tool_calls": [CALL], "usage": {"output_tokens": 50, "reasoning_tokens": 900}})
    response = provider_for("openai", server, model="deepthink").complete(request())
    assert response["usage"]["output_tokens"] == 950


# -- scripted ------------------------------------------------------------------------------------
def test_scripted_cut_fault():
    turn = {"fault": "cut", "tool_calls": [{"name": "end_round", "arguments": {}}]}
    once = make_provider("scripted", script={"*": {"generator": [[{**turn, "times": 1}]]}})
    assert once.complete(request())["tool_calls"][0]["name"] == "end_round"
    assert once.stats["cuts"] == 1
    always = make_provider("scripted", script={"*": {"generator": [[turn]]}})
    with pytest.raises(TruncatedReply, match="raise --max-tokens"):
        always.complete(request())


# -- the free-text fields -----------------------------------------------------------------------
@pytest.mark.smoke
def test_the_schemas_lead_with_the_free_text_fields():
    verdict = modeltools.REGISTRY["submit_verdict"].schema["parameters"]
    assert next(iter(verdict["properties"])) == "analysis"
    assert verdict["required"][0] == "analysis"
    code = modeltools.REGISTRY["execute_code"].schema["parameters"]
    assert "intent" in code["properties"] and code["required"] == ["code"]


@pytest.mark.smoke
def test_submit_verdict_without_analysis_is_refused_naming_the_field():
    base = {"approved": True, "checklist": [], "best_attempt": 1}
    for args in (base, {**base, "analysis": "  "}, {**base, "analysis": 3}):
        problem = modeltools.REGISTRY["submit_verdict"].check(args)
        assert isinstance(problem, str) and "'analysis'" in problem
    checked = modeltools.REGISTRY["submit_verdict"].check({**base, "analysis": "All fixed."})
    assert checked["analysis"] == "All fixed."
    assert (
        modeltools.REGISTRY["execute_code"].check({"code": "x = 1", "intent": "a cube"})["intent"]
        == "a cube"
    )
    assert modeltools.REGISTRY["execute_code"].check({"code": "x = 1"}) == {"code": "x = 1"}
    assert "'intent'" in modeltools.REGISTRY["execute_code"].check(
        {"code": "x = 1", "intent": ["no"]}
    )


# -- settings, CLI -----------------------------------------------------------------------------
@pytest.mark.smoke
def test_settings_defaults_and_bounds():
    assert DEFAULTS.max_tokens == 16_384 and DEFAULTS.thinking == 0
    assert DEFAULTS.reasoning_effort is None and DEFAULTS.tool_choice == "auto"
    assert LIMITS["thinking"][0] == 0
    Settings(thinking=8000).validate()
    Settings(reasoning_effort="high", tool_choice="required").validate()
    bad = (
        {"thinking": 500},  # under Anthropic's 1024
        {"thinking": 16_000},  # leaves no room for the answer
        {"max_tokens": 100},
        {"reasoning_effort": "extreme"},
        {"tool_choice": "any"},
    )
    for values in bad:
        with pytest.raises(ValueError):
            Settings(**values).validate()
    old = Settings.from_dict({"max_tokens": 4096})  # a run of an earlier release resumes
    assert old.max_tokens == 4096 and old.thinking == 0


@pytest.mark.smoke
def test_cli_options_set_them_and_batch_passes_them_on():
    from viga_addon.cli import build_parser
    from viga_addon.cli.options import UsageError, passthrough_args, settings_from_args

    argv = ["reconstruct", "photo.png", "--max-tokens", "32000", "--thinking", "4096"]
    argv += ["--reasoning-effort", "medium", "--tool-choice", "required"]
    args = build_parser().parse_args(argv)
    settings = settings_from_args(args)
    assert settings["max_tokens"] == 32000 and settings["thinking"] == 4096
    assert settings["reasoning_effort"] == "medium" and settings["tool_choice"] == "required"
    passed = passthrough_args(args)
    assert passed[passed.index("--thinking") + 1] == "4096"
    assert passed[passed.index("--reasoning-effort") + 1] == "medium"
    for extra in (["--thinking", "100"], ["--max-tokens", "10"]):
        with pytest.raises(UsageError):
            settings_from_args(build_parser().parse_args(["reconstruct", "p.png", *extra]))
    assert "max_tokens" not in settings_from_args(build_parser().parse_args(["reconstruct", "p"]))


def test_preferences_set_them(addon):
    from viga_addon.ui import live as rt

    s = rt.settings_from_prefs(addon)
    assert (s.max_tokens, s.thinking) == (DEFAULTS.max_tokens, 0)
    assert s.reasoning_effort is None and s.tool_choice == "auto"
    addon.max_tokens = 32000
    addon.thinking = 4096
    addon.reasoning_effort = "HIGH"
    addon.tool_choice = "REQUIRED"
    s = rt.settings_from_prefs(addon)
    assert (s.max_tokens, s.thinking, s.reasoning_effort, s.tool_choice) == (
        32000,
        4096,
        "high",
        "required",
    )
    s.validate()
    rna = type(addon).bl_rna.properties
    assert (rna["thinking"].hard_min, rna["max_tokens"].hard_min) == (0, LIMITS["max_tokens"][0])


def test_the_photo_goes_at_the_providers_own_limit_unless_asked_for_less(tmp_path):
    """Claude takes images up to 1568 px on the long side, OpenAI up to 2048: the photo is not
    shrunk to a fixed 768 px any more; --image-size caps it lower."""
    from PIL import Image

    from viga_addon.agent.providers.anthropic_provider import to_anthropic_messages
    from viga_addon.agent.providers.openai_provider import to_openai_messages
    from viga_addon.agent.providers.registry import make_provider

    photo = tmp_path / "photo.png"
    Image.new("RGB", (2400, 1600), (90, 120, 150)).save(photo)
    messages = [{"role": "user", "content": [{"type": "image", "path": str(photo)}]}]

    def size_of(data):
        import base64
        import io

        return Image.open(io.BytesIO(base64.b64decode(data))).size

    claude = to_anthropic_messages(messages)[0]["content"][0]["source"]["data"]
    gpt = to_openai_messages("", messages)[0]["content"][0]["image_url"]["url"].split(",")[1]
    assert size_of(claude) == (1568, 1045) and size_of(gpt) == (2048, 1365)
    small = make_provider("anthropic", api_key="sk-test-x", max_image_side=512)
    assert small.max_image_side == 512
    capped = to_anthropic_messages(messages, max_side=small.max_image_side)
    assert size_of(capped[0]["content"][0]["source"]["data"]) == (512, 341)
