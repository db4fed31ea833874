"""Providers with the real anthropic / openai SDKs against a local fake server (no real service)."""

import ast
import base64
import io
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.fake_model_server import fake_server
from viga_addon.agent import cost
from viga_addon.agent import messages as m
from viga_addon.agent import providers as providers_package
from viga_addon.agent.errors import (
    ERROR_TYPES,
    AuthError,
    BadResponse,
    Cancelled,
    ConfigError,
    DiskFull,
    Disposition,
    InvalidRequest,
    MalformedToolCall,
    ProviderError,
    RateLimited,
    ServerError,
    Timeout,
    VigaError,
    WorkerError,
    error_class,
    exit_code_for,
    from_wire,
    to_wire,
)
from viga_addon.agent.providers import make_provider
from viga_addon.agent.providers.images import encode_image
from viga_addon.agent.providers.keys import is_local_url, scrub
from viga_addon.agent.providers.scripted import SCRIPTED_MODEL
from viga_addon.agent.providers.sdk_errors import parse_retry_after

KEY = "sk-test-SECRET-0123456789abcdefXYZ"
WIRES = ("anthropic", "openai")
TOOL = m.tool(
    "execute_code",
    "Run bpy code in the scene.",
    {"code": {"type": "string", "description": "Python code"}},
    ["code"],
)
CALL = {
    "name": "execute_code",
    "arguments": {"code": "import bpy\nbpy.ops.mesh.primitive_cube_add()"},
}


@pytest.fixture
def server():
    with fake_server() as s:
        yield s


@pytest.fixture
def photo(tmp_path):
    """A 4000x2000 RGB PNG: larger than any provider's image limit, so it must be downscaled."""
    path = tmp_path / "photo.png"
    img = Image.new("RGB", (4000, 2000), (200, 30, 40))
    img.paste((10, 220, 30), (0, 0, 2000, 2000))
    img.save(path)
    return str(path)


EPHEMERAL = {"type": "ephemeral"}


def url_for(name, server):
    return server.url if name == "anthropic" else server.url + "/v1"


def provider_for(name, server, **opts):
    opts.setdefault("base_delay", 0.001)
    # the fake is a server of another base URL: "auto" would preflight it first (tested in
    # test_text_protocol.py); these tests are about one request each
    opts.setdefault("tool_protocol", "native")
    return make_provider(name, api_key=KEY, base_url=url_for(name, server), **opts)


def request(*messages, tools=(TOOL,)):
    return {
        "system": "Stage: geometry — Generator",
        "messages": list(messages) or [m.user(m.text("Build the scene."))],
        "tools": list(tools),
        "max_tokens": 512,
        "meta": {"stage": "geometry", "role": "generator", "round": 1, "turn": 0},
    }


def decode_size(data_b64):
    return Image.open(io.BytesIO(base64.b64decode(data_b64))).size


# -- round trips ------------------------------------------------------------------------------
@pytest.mark.smoke
@pytest.mark.parametrize("name", WIRES)
def test_tool_call_round_trip_sends_image_and_tool_schema(name, server, photo):
    server.queue(
        {
            "text": "Adding a cube.",
            "tool_calls": [CALL],
            "usage": {"input_tokens": 900, "output_tokens": 50},
        }
    )
    response = provider_for(name, server).complete(
        request(m.user(m.text("Rebuild this photo."), m.image(photo)))
    )

    assert response["tool_calls"][0]["name"] == "execute_code"
    assert response["tool_calls"][0]["arguments"] == CALL["arguments"]
    assert response["tool_calls"][0]["id"]
    assert response["text"] == "Adding a cube."
    assert response["usage"] == {
        "input_tokens": 900,
        "output_tokens": 50,
        "cache_write_tokens": 0,
        "cache_read_tokens": 0,
        "images": 1,
    }

    body = server.requests[-1]["body"]
    limit = {"anthropic": 1568, "openai": 2048}[name]  # each service's own long-side limit
    _, expected_b64 = encode_image(photo, limit)
    if name == "anthropic":
        assert server.requests[-1]["path"] == "/v1/messages"
        assert body["system"] == [
            {"type": "text", "text": "Stage: geometry — Generator", "cache_control": EPHEMERAL}
        ]
        assert body["tools"] == [
            {
                "name": "execute_code",
                "description": TOOL["description"],
                "input_schema": TOOL["parameters"],
            }
        ]  # the system prompt's breakpoint caches the tools before it
        assert body["tool_choice"] == {"type": "auto"}  # the model may write text first
        image = body["messages"][0]["content"][1]
        assert image["type"] == "image" and image["source"]["media_type"] == "image/png"
        data = image["source"]["data"]
    else:
        assert server.requests[-1]["path"] == "/v1/chat/completions"
        assert body["messages"][0] == {"role": "system", "content": "Stage: geometry — Generator"}
        assert body["tools"] == [
            {
                "type": "function",
                "function": {
                    "name": "execute_code",
                    "description": TOOL["description"],
                    "parameters": TOOL["parameters"],
                },
            }
        ]
        assert body["tool_choice"] == "auto"  # the model may write text first
        url = body["messages"][1]["content"][1]["image_url"]["url"]
        assert url.startswith("data:image/png;base64,")
        data = url.split(",", 1)[1]
    assert data == expected_b64
    assert decode_size(data) == (limit, limit // 2)  # long side at the provider's cap, aspect kept


@pytest.mark.smoke
@pytest.mark.parametrize("name", WIRES)
def test_tool_results_with_images_are_mapped(name, server, photo):
    server.queue({"tool_calls": [{"name": "execute_code", "arguments": {"code": "pass"}}]})
    history = [
        m.user(m.text("Rebuild this photo.")),
        {
            "role": "assistant",
            "content": [
                m.text("Rendering."),
                {
                    "type": "tool_call",
                    "id": "call_7",
                    "name": "execute_code",
                    "arguments": {"code": "x = 1"},
                },
            ],
        },
        m.user(
            m.tool_result(
                "call_7", [m.text("Traceback: NameError"), m.image(photo)], is_error=True
            ),
            m.text("Go on."),
        ),
    ]
    response = provider_for(name, server).complete(request(*history))
    assert response["usage"]["images"] == 1
    sent = server.requests[-1]["body"]["messages"]

    if name == "anthropic":
        assert sent[1]["content"][1] == {
            "type": "tool_use",
            "id": "call_7",
            "name": "execute_code",
            "input": {"code": "x = 1"},
        }
        result = sent[2]["content"][0]  # tool results come first in the user turn
        assert result["type"] == "tool_result" and result["tool_use_id"] == "call_7"
        assert result["is_error"] is True
        assert result["content"][0] == {"type": "text", "text": "Traceback: NameError"}
        assert result["content"][1]["type"] == "image"
        # the newest turn's last block carries the moving cache breakpoint
        assert sent[2]["content"][1] == {
            "type": "text",
            "text": "Go on.",
            "cache_control": EPHEMERAL,
        }
    else:
        assistant, tool_msg, follow_up = sent[2], sent[3], sent[4]
        call = assistant["tool_calls"][0]
        assert call["id"] == "call_7" and json.loads(call["function"]["arguments"]) == {
            "code": "x = 1"
        }
        assert tool_msg["role"] == "tool" and tool_msg["tool_call_id"] == "call_7"
        assert tool_msg["content"].startswith("ERROR: Traceback: NameError")
        assert follow_up["role"] == "user"
        kinds = [p["type"] for p in follow_up["content"]]
        assert kinds == ["text", "text", "image_url"] or kinds == ["text", "image_url", "text"]
        assert any(p["type"] == "text" and p["text"] == "Go on." for p in follow_up["content"])


# -- faults -----------------------------------------------------------------------------------
FAULTS = {
    "429 retry-after": {"fault": "429", "retry_after": 0},
    "429 bare": {"fault": "429"},
    "500": {"fault": "500"},
    "529": {"fault": "529"},
    "drop": {"fault": "drop"},
    "slow": {"fault": "slow", "delay": 1.0, "tool_calls": [CALL]},
}


@pytest.mark.smoke
@pytest.mark.parametrize("name", WIRES)
@pytest.mark.parametrize("fault", FAULTS)
def test_transient_fault_is_retried_then_succeeds(name, fault, server):
    server.queue(FAULTS[fault], {"tool_calls": [CALL]})
    provider = provider_for(name, server, timeout=0.3)
    response = provider.complete(request())
    assert response["tool_calls"][0]["name"] == "execute_code"
    assert provider.stats["retries"] == 1
    assert len(server.requests) == 2


@pytest.mark.parametrize("name", WIRES)
def test_retry_after_header_is_honoured(name, server):
    server.queue({"fault": "429", "retry_after": 0.4}, {"tool_calls": [CALL]})
    start = time.monotonic()
    provider_for(name, server, base_delay=0.001).complete(request())
    assert time.monotonic() - start >= 0.4


@pytest.mark.smoke
@pytest.mark.parametrize("name", WIRES)
@pytest.mark.parametrize(
    ("fault", "error"), [("429", RateLimited), ("500", ServerError), ("529", ServerError)]
)
def test_retries_exhausted_raise(name, fault, error, server):
    server.queue(*[{"fault": fault}] * 3)
    with pytest.raises(error, match="Gave up after 3 attempts"):
        provider_for(name, server, max_retries=2).complete(request())
    assert len(server.requests) == 3


@pytest.mark.parametrize("name", WIRES)
def test_timeouts_exhausted_raise_timeout(name, server):
    server.queue(*[{"fault": "slow", "delay": 0.6, "tool_calls": [CALL]}] * 2)
    with pytest.raises(Timeout):
        provider_for(name, server, max_retries=1, timeout=0.2).complete(request())


@pytest.mark.smoke
@pytest.mark.parametrize("name", WIRES)
def test_401_is_auth_error_naming_the_key_without_leaking_it(name, server):
    server.queue({"fault": "401"}, {"tool_calls": [CALL]})
    with pytest.raises(AuthError) as info:
        provider_for(name, server).complete(request())
    message = str(info.value)
    assert "ANTHROPIC_API_KEY" in message if name == "anthropic" else "OPENAI_API_KEY" in message
    assert "preferences" in message
    assert KEY not in message and KEY[:8] not in message and KEY[-4:] not in message
    assert len(server.requests) == 1  # a bad key is not retried


@pytest.mark.smoke
@pytest.mark.parametrize("name", WIRES)
def test_reply_without_tool_call_is_reasked_then_bad_response(name, server):
    server.queue(*[{"fault": "no_tool", "text": "It looks fine."}] * 3)
    with pytest.raises(BadResponse, match="without calling a tool"):
        provider_for(name, server, reask=2).complete(request())
    assert len(server.requests) == 3
    last = json.dumps(server.requests[-1]["body"]["messages"])
    assert "Call one of the tools" in last and "It looks fine." in last


@pytest.mark.smoke
@pytest.mark.parametrize("name", WIRES)
@pytest.mark.parametrize("fault", ["no_tool", "malformed"])
def test_reask_recovers_and_sums_usage(name, fault, server):
    server.queue({"fault": fault, "tool_calls": [CALL]}, {"tool_calls": [CALL]})
    provider = provider_for(name, server)
    response = provider.complete(request())
    assert response["tool_calls"][0]["arguments"] == CALL["arguments"]
    assert provider.stats["reasks"] == 1
    assert response["usage"]["input_tokens"] == 240 and response["usage"]["output_tokens"] == 60


@pytest.mark.parametrize("name", WIRES)
def test_no_tools_means_no_reask(name, server):
    server.queue({"text": "A red brick on a table."})
    response = provider_for(name, server).complete(request(tools=()))
    assert response["text"] == "A red brick on a table." and response["tool_calls"] == []
    assert "tools" not in server.requests[-1]["body"]


# -- keys -------------------------------------------------------------------------------------
@pytest.mark.smoke
@pytest.mark.parametrize(
    ("name", "env"), [("anthropic", "ANTHROPIC_API_KEY"), ("openai", "OPENAI_API_KEY")]
)
def test_missing_key_fails_fast_with_clear_message(name, env, server, monkeypatch):
    monkeypatch.delenv(env, raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(AuthError) as info:
        make_provider(name, base_url=None)
    assert env in str(info.value) and "--provider scripted" in str(info.value)
    assert server.requests == []


@pytest.mark.smoke
def test_key_from_environment_is_used(server, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    server.queue({"tool_calls": [CALL]})
    make_provider("anthropic", base_url=server.url, base_delay=0.001).complete(request())
    headers = server.requests[-1]["headers"]
    assert KEY in (
        headers.get("x-api-key", ""),
        headers.get("authorization", "").removeprefix("Bearer "),
    )


@pytest.mark.smoke
def test_local_openai_server_needs_no_key_and_costs_nothing(server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    server.queue({"tool_calls": [CALL], "usage": {"input_tokens": 10**6, "output_tokens": 10**6}})
    provider = make_provider("openai", model="llava:13b")
    response = provider.complete(request())
    assert response["model"] == "llava:13b" and response["cost_usd"] == 0.0
    assert "max_tokens" in server.requests[-1]["body"]  # compatible servers get the classic name


def test_unknown_provider_and_bad_option_are_config_errors():
    with pytest.raises(ConfigError, match="anthropic, openai, scripted"):
        make_provider("gemini", api_key=KEY)
    with pytest.raises(ConfigError, match="Bad option"):
        make_provider("anthropic", api_key=KEY, colour="blue")


@pytest.mark.smoke
def test_scrub_and_helpers():
    assert KEY not in scrub(f"bad key {KEY}", KEY)
    leaked = scrub(f"Incorrect API key provided: {KEY[:12]}...{KEY[-8:]}", KEY)
    assert KEY[:12] not in leaked and KEY[-8:] not in leaked
    assert parse_retry_after({"retry-after": "2.5"}) == 2.5
    assert parse_retry_after({"retry-after-ms": "300"}) == 0.3
    assert parse_retry_after({}) is None
    assert is_local_url("http://localhost:11434/v1") and is_local_url("http://192.168.1.9:8000/v1")
    assert not is_local_url("https://api.openai.com/v1") and not is_local_url(None)


def test_cancel_interrupts_backoff(server):
    server.queue({"fault": "429", "retry_after": 30})
    provider = provider_for("anthropic", server, max_delay=60)
    outcome = {}

    def run():
        try:
            provider.complete(request())
        except Exception as exc:  # noqa: BLE001 - record what came out
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.3)
    start = time.monotonic()
    provider.cancel()
    thread.join(5)
    assert time.monotonic() - start < 1.0
    assert isinstance(outcome.get("error"), Cancelled)


# -- cost -------------------------------------------------------------------------------------
@pytest.mark.smoke
def test_cost_table_prefixes_unknown_and_overrides(tmp_path, monkeypatch):
    monkeypatch.delenv("VIGA_PRICES", raising=False)
    usage = {"input_tokens": 1_000_000, "output_tokens": 1_000_000}
    assert cost.estimate_cost("claude-sonnet-4-5", usage) == pytest.approx(18.0)
    assert cost.estimate_cost("claude-sonnet-4-5-20250929", usage) == pytest.approx(18.0)
    assert cost.estimate_cost("gpt-4o-mini-2024-07-18", usage) == pytest.approx(0.75)
    assert cost.estimate_cost("my-finetune", usage) == 0.0
    assert not cost.price_known("my-finetune")
    assert cost.describe_cost("my-finetune", usage)["note"].startswith("unknown price")

    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"my-finetune": [1, 2], "gpt-4o": {"input": 5, "output": 20}}))
    monkeypatch.setenv("VIGA_PRICES", str(prices))
    table = cost.load_price_table()
    assert cost.estimate_cost("my-finetune", usage, table) == pytest.approx(3.0)
    assert cost.estimate_cost("gpt-4o", usage, table) == pytest.approx(25.0)
    assert (
        cost.estimate_cost(
            "claude-sonnet-4-5", usage, cost.load_price_table({"claude-sonnet-4-5": [1, 1]})
        )
        == 2.0
    )
    prices.write_text(json.dumps({"x": "cheap"}))
    with pytest.raises(ValueError, match="USD per million"):
        cost.load_price_table()
    with pytest.raises(ConfigError, match="USD per million"):
        make_provider("anthropic", api_key=KEY)


@pytest.mark.smoke
def test_response_cost_uses_price_table(server, monkeypatch):
    monkeypatch.delenv("VIGA_PRICES", raising=False)
    server.queue({"tool_calls": [CALL], "usage": {"input_tokens": 2000, "output_tokens": 100}})
    response = provider_for("anthropic", server, model="claude-sonnet-4-6").complete(request())
    assert response["cost_usd"] == pytest.approx((2000 * 3 + 100 * 15) / 1e6)
    server.queue({"tool_calls": [CALL], "usage": {"input_tokens": 2000, "output_tokens": 100}})
    paid = provider_for("openai", server, model="gpt-4o", free=False).complete(request())
    assert paid["cost_usd"] == pytest.approx((2000 * 2.5 + 100 * 10) / 1e6)


# -- images -----------------------------------------------------------------------------------
@pytest.mark.smoke
def test_encode_image_formats_and_errors(tmp_path):
    rgba = tmp_path / "alpha.png"
    Image.new("RGBA", (2000, 100), (0, 0, 0, 0)).save(rgba)
    media, data = encode_image(str(rgba))
    img = Image.open(io.BytesIO(base64.b64decode(data)))
    assert media == "image/png" and img.mode == "RGBA" and img.size == (768, 38)

    jpeg = tmp_path / "photo.jpg"
    Image.new("RGB", (300, 900), (90, 90, 90)).save(jpeg)
    media, data = encode_image(str(jpeg))
    assert media == "image/jpeg" and decode_size(data) == (256, 768)

    small = tmp_path / "small.png"
    Image.new("L", (64, 32), 128).save(small)
    media, data = encode_image(str(small))
    assert Image.open(io.BytesIO(base64.b64decode(data))).mode == "RGB"
    assert decode_size(data) == (64, 32)  # never upscaled

    with pytest.raises(InvalidRequest, match="not found"):
        encode_image(str(tmp_path / "missing.png"))
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(InvalidRequest, match="Cannot read image"):
        encode_image(str(tmp_path / "junk.png"))


# -- scripted ---------------------------------------------------------------------------------
SCRIPT = {
    "init": {
        "generator": [
            [
                {"text": "r1t0", "tool_calls": [{"name": "make_plan", "arguments": {"plan": "a"}}]},
                {"text": "r1t1", "tool_calls": [{"name": "end_round", "arguments": {}}]},
            ],
            [{"text": "r2t0", "tool_calls": [{"name": "end_round", "arguments": {}}]}],
        ],
    },
    "*": {
        "generator": [
            [
                {
                    "fault": "rate_limit",
                    "times": 1,
                    "text": "ok",
                    "tool_calls": [{"name": "end_round", "arguments": {}}],
                }
            ]
        ],
        "verifier": [[{"fault": "no_tool"}]],
    },
    "lighting": {"generator": [[{"fault": "server"}]], "verifier": [[{"fault": "malformed"}]]},
    "camera": {"generator": [[{"fault": "auth"}]], "verifier": [[{"fault": "timeout"}]]},
}


def scripted_request(stage, role="generator", round_no=1, turn=0, **extra):
    req = request()
    req["meta"] = {"stage": stage, "role": role, "round": round_no, "turn": turn, **extra}
    return req


@pytest.mark.smoke
def test_scripted_playback_by_meta(capsys):
    provider = make_provider("scripted", script=SCRIPT)
    assert "no model is called" in capsys.readouterr().err
    first = provider.complete(scripted_request("init"))
    assert first["text"] == "r1t0" and first["model"] == SCRIPTED_MODEL
    assert first["tool_calls"] == [
        {"id": "call_init_generator_1_0_0", "name": "make_plan", "arguments": {"plan": "a"}}
    ]
    assert first["cost_usd"] == 0.0
    assert provider.complete(scripted_request("init", turn=1))["text"] == "r1t1"
    assert (
        provider.complete(scripted_request("init", turn=9))["text"] == "r1t1"
    )  # past the end: last turn
    assert provider.complete(scripted_request("init", round_no=2))["text"] == "r2t0"
    assert provider.complete(scripted_request("init", round_no=7))["text"] == "r2t0"  # last round
    assert provider.complete(scripted_request("init", round_no=1, rollout=2))["text"] == "r2t0"
    again = make_provider("scripted", script=SCRIPT).complete(scripted_request("init"))
    assert again == first  # stateless: a fresh provider (resume) plays the same


@pytest.mark.smoke
def test_scripted_faults(tmp_path):
    path = tmp_path / "script.json"
    path.write_text(json.dumps(SCRIPT))
    provider = make_provider("scripted", script=str(path))
    with pytest.raises(RateLimited):
        provider.complete(scripted_request("geometry"))
    assert provider.complete(scripted_request("geometry"))["text"] == "ok"  # "times": 1
    with pytest.raises(BadResponse):
        provider.complete(scripted_request("geometry", role="verifier"))
    with pytest.raises(ServerError):
        provider.complete(scripted_request("lighting"))
    with pytest.raises(BadResponse):
        provider.complete(scripted_request("lighting", role="verifier"))
    with pytest.raises(AuthError):
        provider.complete(scripted_request("camera"))
    with pytest.raises(Timeout):
        provider.complete(scripted_request("camera", role="verifier"))

    retrying = make_provider("scripted", script=SCRIPT, max_retries=2)
    assert retrying.complete(scripted_request("material"))["text"] == "ok"
    assert retrying.stats["retries"] == 1


@pytest.mark.smoke
def test_scripted_config_errors():
    with pytest.raises(ConfigError, match="needs a script"):
        make_provider("scripted")
    with pytest.raises(ConfigError, match="no entry for stage"):
        make_provider("scripted", script={"init": SCRIPT["init"]}).complete(
            scripted_request("material")
        )


# -- the error tree ---------------------------------------------------------------------------
@pytest.mark.smoke
@pytest.mark.parametrize(
    ("name", "disposition", "exit_code"),
    [
        ("AuthError", Disposition.FATAL, 3),
        ("ConfigError", Disposition.FATAL, 2),
        ("BadResponse", Disposition.FAIL_ROUND, 1),
        ("MalformedToolCall", Disposition.FAIL_ROUND, 1),
        ("TruncatedReply", Disposition.FAIL_ROUND, 1),
        ("InvalidRequest", Disposition.FAIL_ROUND, 1),
        ("RateLimited", Disposition.RETRY, 4),
        ("ServerError", Disposition.RETRY, 4),
        ("Timeout", Disposition.RETRY, 4),
        ("Cancelled", Disposition.PAUSE, 4),
        ("ProviderError", Disposition.PAUSE, 4),
        ("WorkerError", Disposition.PAUSE, 4),
        ("DiskFull", Disposition.PAUSE, 4),
        ("SomethingNew", Disposition.PAUSE, 4),  # unknown names pause, as a ProviderError
    ],
)
def test_each_error_knows_what_it_does_to_a_run(name, disposition, exit_code):
    cls = error_class(name)
    assert issubclass(cls, VigaError)
    assert cls.disposition is disposition and exit_code_for(name) == exit_code
    assert cls("x").retryable is (disposition is Disposition.RETRY)
    assert disposition.pauses is (disposition in (Disposition.RETRY, Disposition.PAUSE))


@pytest.mark.smoke
def test_the_tree_and_the_wire_format():
    assert issubclass(MalformedToolCall, BadResponse) and issubclass(BadResponse, ProviderError)
    for cls in (WorkerError, DiskFull):  # beside ProviderError, not under it
        assert issubclass(cls, VigaError) and not issubclass(cls, ProviderError)
    assert exit_code_for(None) == 1 and exit_code_for("") == 1  # no error recorded: failed
    assert error_class(None) is ProviderError
    for cls in ERROR_TYPES.values():
        wire = to_wire(cls("it broke"))
        assert json.loads(json.dumps(wire)) == {"error_type": cls.__name__, "message": "it broke"}
        back = from_wire(wire)
        assert type(back) is cls and str(back) == "it broke"
    unknown = from_wire({"error_type": "KeyboardInterrupt", "message": "m"})  # not in the tree
    assert type(unknown) is ProviderError and str(unknown) == "m"
    assert type(from_wire({})) is ProviderError


# -- the package's shape ----------------------------------------------------------------------
PROVIDERS_DIR = Path(providers_package.__file__).parent
WORKER_FILE = PROVIDERS_DIR.parent / "worker.py"
CONCRETE = {"anthropic_provider", "openai_provider", "scripted"}


def _import_graph() -> dict[str, set[str]]:
    """Module -> modules of the package it imports (at module level or inside functions)."""
    package = "viga_addon.agent.providers."
    names = {p.stem for p in PROVIDERS_DIR.glob("*.py")}
    graph = {}
    for name in names:
        targets = []
        for node in ast.walk(ast.parse((PROVIDERS_DIR / f"{name}.py").read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                targets.append(node.module)
            elif isinstance(node, ast.ImportFrom) and node.level == 1:  # from . import x
                targets += [a.name if a.name in names else "__init__" for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                targets.append(node.module or "")
            elif isinstance(node, ast.Import):
                targets += [a.name for a in node.names]
        graph[name] = {t.removeprefix(package).split(".")[0] for t in targets} & (
            names | {"__init__"}
        )
    return graph


@pytest.mark.smoke
def test_no_import_cycle_and_only_the_registry_imports_concrete_providers():
    graph = _import_graph()
    assert {"catalog", "keys", "base", "registry"} <= set(graph)
    done, path = set(), []

    def visit(name):
        if name in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(name) :], name]))
        if name in done:
            return
        path.append(name)
        for other in sorted(graph[name]):
            visit(other)
        path.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)
    importers = {name for name, edges in graph.items() if edges & CONCRETE}
    assert importers == {"registry"}, importers
    assert graph["catalog"] == set()  # the error tree is ../errors.py, outside the package
    assert "__init__" not in set().union(*graph.values())


@pytest.mark.smoke
def test_sdks_load_only_when_their_provider_is_built():
    code = (
        "import sys\n"
        "from viga_addon.agent import providers, worker\n"
        "from viga_addon.agent.providers import make_provider\n"
        "make_provider('scripted', script={'*': {}})\n"
        "loaded = lambda: sorted(m for m in ('anthropic', 'openai') if m in sys.modules)\n"
        "print(loaded())\n"
        "make_provider('openai', api_key='k', base_url='http://127.0.0.1:9/v1')\n"
        "print(loaded())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROVIDERS_DIR.parents[2],
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["[]", "['openai']"], out.stdout


def _public_functions(tree: ast.Module):
    """Functions at module level and in classes, not private (dunders count as public)."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.ClassDef):
            stack.extend(node.body)
        elif isinstance(node, ast.FunctionDef):
            name = node.name
            if not name.startswith("_") or (name.startswith("__") and name.endswith("__")):
                yield node


@pytest.mark.smoke
def test_public_functions_have_type_hints_and_modules_stay_small():
    missing = []
    for path in [*sorted(PROVIDERS_DIR.glob("*.py")), WORKER_FILE]:
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) < 600, f"{path.name} has grown past 600 lines"
        for fn in _public_functions(ast.parse(text)):
            args = fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs
            args += [a for a in (fn.args.vararg, fn.args.kwarg) if a is not None]
            unhinted = [
                a.arg for a in args if a.annotation is None and a.arg not in ("self", "cls")
            ]
            if unhinted or fn.returns is None:
                missing.append(f"{path.name}:{fn.lineno} {fn.name} {unhinted or 'return'}")
    assert missing == []
