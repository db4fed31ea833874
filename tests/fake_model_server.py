"""A local fake model service speaking both wire formats, for tests with the real SDKs.

    with fake_server() as server:
        server.queue({"tool_calls": [{"name": "render_view", "arguments": {}}]})
        server.queue({"fault": "429", "retry_after": 0.2})      # served first-in first-out
        client = anthropic.Anthropic(api_key="k", base_url=server.url)
        openai.OpenAI(api_key="k", base_url=server.url + "/v1")
        server.requests  # [{"path", "headers" (lower-case names), "body"}] every request, in
                         # order, but the preflights (kept apart in server.preflights)
        server.respond_with(fn)  # fn(wire, body) -> reply or None (None: the queue answers);
                                 # a model that reads what it is sent, e.g. an error's hint

POST /v1/messages          Anthropic Messages API
POST /v1/chat/completions  OpenAI Chat Completions

Reply (one per request, taken from the queue; an empty queue answers 500 "queue empty"):
    {"text": str, "tool_calls": [{"name", "arguments"}], "usage": {"input_tokens", "output_tokens"}}
    {"fault": "429", "retry_after": seconds | None}   rate limited (with/without retry-after)
    {"fault": "500"} / {"fault": "529"}                server error / overloaded
    {"fault": "401"}                                   bad key (message quotes part of the key,
                                                       like real services do)
    {"fault": "drop"}                                  close the connection without an answer
    {"fault": "slow", "delay": seconds, ...reply}      wait, then answer normally
    {"fault": "malformed", "tool_calls": [...]}        tool-call arguments are not a JSON object
    {"fault": "no_tool", "text": str}                  an answer without a tool call
    {"fault": "cut", "text": str, "tool_calls": [...]} cut at max_tokens (Anthropic stop_reason
                                                       "max_tokens", tool inputs empty; OpenAI
                                                       finish_reason "length", arguments cut)
    {"fault": "400", "message": str}                   the request was refused (HTTP 400)
A reply may also carry "thinking": str (Anthropic: a thinking block with a signature before
the rest) and "usage": {"thinking_tokens": n} (Anthropic output_tokens_details) or
{"reasoning_tokens": n} (OpenAI completion_tokens_details), inside output_tokens.

Like the real service, a Messages request with thinking on is refused (HTTP 400) when its
tool_choice is not auto/none, when budget_tokens is under 1024 or not under max_tokens, or when
its last assistant turn has a tool_use but does not start with a thinking block.

Server-wide behaviours (attributes, set before or during a test):
    server.cache = True        usage is computed from the request (tests/cache_model.py): the
                               uncached input, cache writes and reads at the request's
                               cache_control breakpoints (Anthropic; more than 4: HTTP 400) or
                               its prefix shared with earlier requests (OpenAI: cached_tokens);
                               each request's figures are in ``server.cache_usage``
    server.reject_tools = True  any request with tools: HTTP 400 "… does not support tools"
                               (as Ollama answers for a vision model without tool calling)
    server.reject_images = True any request with an image: HTTP 400 "… does not support image"
    server.reject_all = "text"  every request: HTTP 400 with that message
A preflight request (system prompt starting "Preflight:", providers/preflight.py) is answered
like a small model would (a call of its one tool, natively or as text), not from the queue,
and recorded in ``server.preflights`` (refused ones too), not in ``server.requests``.
A request without tools whose reply has tool_calls gets them as text, one ```json
{"tool", "arguments"}``` block (a model following the text protocol).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cache_model import CacheModel

DEFAULT_USAGE = {"input_tokens": 120, "output_tokens": 30}


class FakeModelServer:
    def __init__(self):
        self.requests: list[dict] = []
        self._replies: list[dict] = []
        self._responder = None
        self.cache = False
        self.reject_tools = False
        self.reject_images = False
        self.reject_all: str | None = None
        self.cache_usage: list[dict] = []
        self.preflights: list[dict] = []
        self._caches = {"anthropic": CacheModel("anthropic"), "openai": CacheModel("openai")}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)

    def start(self) -> FakeModelServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def queue(self, *replies: dict) -> None:
        """Add replies, served first-in first-out, one per request."""
        with self._lock:
            self._replies.extend(replies)

    def respond_with(self, fn) -> None:
        """Answer with ``fn(wire, body)`` ("anthropic" | "openai", the request's JSON); a None
        from it leaves the request to the queue."""
        self._responder = fn

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._replies)

    def _next_reply(self) -> dict | None:
        with self._lock:
            return self._replies.pop(0) if self._replies else None

    def next_id(self) -> int:
        return next(self._ids)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeModelServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output clean
        pass

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        record = {
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
        }
        preflight = _system_of(body).startswith("Preflight:")
        (self.fake.preflights if preflight else self.fake.requests).append(record)
        if self.path.rstrip("/").endswith("/messages"):
            wire = "anthropic"
        elif self.path.rstrip("/").endswith("/chat/completions"):
            wire = "openai"
        else:
            return self._send(404, {"error": {"message": f"no route {self.path}"}})
        refusal = self._refusal(body)
        if refusal:
            return self._send(400, _error(wire, "invalid_request_error", refusal))
        if preflight:
            call = {"name": "report_colour", "arguments": {"colour": "red"}}
            return self._answer(wire, body, {"tool_calls": [call], "usage": {"output_tokens": 9}})
        reply = self.fake._responder(wire, body) if self.fake._responder else None
        if reply is None:
            reply = self.fake._next_reply()
        if reply is None:
            return self._send(500, _error(wire, "api_error", "fake server: reply queue is empty"))
        fault = reply.get("fault")
        if fault == "drop":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(2)
            return None
        if fault == "slow":
            time.sleep(float(reply.get("delay", 1.0)))
        if fault == "429":
            headers = {}
            if reply.get("retry_after") is not None:
                headers["retry-after"] = str(reply["retry_after"])
            return self._send(429, _error(wire, "rate_limit_error", "Rate limit reached"), headers)
        if fault in ("500", "529"):
            kind = "overloaded_error" if fault == "529" else "api_error"
            return self._send(int(fault), _error(wire, kind, "Something went wrong"))
        if fault == "401":
            key = self.headers.get("x-api-key") or self.headers.get("authorization", "")[7:]
            message = f"Incorrect API key provided: {key[:8]}...{key[-4:]}"
            return self._send(401, _error(wire, "authentication_error", message))
        if fault == "400":
            message = reply.get("message") or "invalid request"
            return self._send(400, _error(wire, "invalid_request_error", message))
        if wire == "anthropic":
            refused = _thinking_refusal(body)
            if refused:
                return self._send(400, _error(wire, "invalid_request_error", refused))
        return self._answer(wire, body, reply)

    def _refusal(self, body: dict) -> str | None:
        fake = self.fake
        model = body.get("model", "?")
        if fake.reject_all:
            return fake.reject_all
        if fake.reject_tools and body.get("tools"):
            return f"registry.ollama.ai/library/{model}:latest does not support tools"
        if fake.reject_images and _has_image(body):
            return f"model {model} does not support image input"
        return None

    def _answer(self, wire: str, body: dict, reply: dict):
        if not body.get("tools") and reply.get("tool_calls"):
            reply = _as_text_reply(reply)
        if self.fake.cache:
            try:
                cached = self.fake._caches[wire].usage(body)
            except ValueError as exc:
                return self._send(400, _error(wire, "invalid_request_error", str(exc)))
            self.fake.cache_usage.append(cached)
            usage = {k: v for k, v in cached.items() if k != "breakpoints"}
            reply = {**reply, "usage": {**usage, **(reply.get("usage") or {})}}
        if wire == "anthropic":
            return self._send(200, self._anthropic_reply(body, reply))
        return self._send(200, self._openai_reply(body, reply))

    def _send(self, status: int, payload: dict, headers: dict | None = None):
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            # Stop the SDKs from retrying on their own (our providers retry themselves).
            self.send_header("x-should-retry", "false")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up (timeout test)
            pass

    def _anthropic_reply(self, body: dict, reply: dict) -> dict:
        content = []
        cut = reply.get("fault") == "cut"
        if reply.get("thinking"):
            signature = f"sig-{self.fake.next_id():04d}"
            content.append(
                {"type": "thinking", "thinking": reply["thinking"], "signature": signature}
            )
        if reply.get("text") or reply.get("fault") == "no_tool":
            content.append({"type": "text", "text": reply.get("text") or "Looks good to me."})
        calls = [] if reply.get("fault") == "no_tool" else reply.get("tool_calls") or []
        for call in calls:
            arguments = call.get("arguments", {})
            if reply.get("fault") == "malformed":
                arguments = '{"code": "import bpy'  # not an object
            if cut:
                arguments = {}  # the input was not finished
            content.append(
                {
                    "type": "tool_use",
                    "id": f"toolu_{self.fake.next_id():04d}",
                    "name": call["name"],
                    "input": arguments,
                }
            )
        usage = {**DEFAULT_USAGE, **(reply.get("usage") or {})}
        thinking_tokens = usage.pop("thinking_tokens", None)
        usage.pop("reasoning_tokens", None)
        if "cache_write_tokens" in usage:
            usage["cache_creation_input_tokens"] = usage.pop("cache_write_tokens")
            usage["cache_read_input_tokens"] = usage.pop("cache_read_tokens")
        if thinking_tokens is not None:
            usage["output_tokens_details"] = {"thinking_tokens": thinking_tokens}
        if cut:
            usage["output_tokens"] = body.get("max_tokens", usage["output_tokens"])
        stop = "max_tokens" if cut else "tool_use" if calls else "end_turn"
        return {
            "id": f"msg_{self.fake.next_id():04d}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "?"),
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": usage,
        }

    def _openai_reply(self, body: dict, reply: dict) -> dict:
        calls = [] if reply.get("fault") == "no_tool" else reply.get("tool_calls") or []
        tool_calls = []
        for call in calls:
            arguments = json.dumps(call.get("arguments", {}))
            if reply.get("fault") in ("malformed", "cut"):
                arguments = '{"code": "import bpy'  # truncated JSON
            tool_calls.append(
                {
                    "id": f"call_{self.fake.next_id():04d}",
                    "type": "function",
                    "function": {"name": call["name"], "arguments": arguments},
                }
            )
        text = reply.get("text") or (
            "Looks good to me." if reply.get("fault") == "no_tool" else None
        )
        usage = {**DEFAULT_USAGE, **(reply.get("usage") or {})}
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if reply.get("fault") == "cut" and limit:
            usage["output_tokens"] = limit
        finish = "length" if reply.get("fault") == "cut" else None
        finish = finish or ("tool_calls" if tool_calls else "stop")
        cached = int(usage.get("cache_read_tokens") or 0)
        prompt = usage["input_tokens"] + cached  # OpenAI's prompt_tokens include cached ones
        completion_usage = {
            "prompt_tokens": prompt,
            "completion_tokens": usage["output_tokens"],
            "total_tokens": prompt + usage["output_tokens"],
        }
        if "cache_read_tokens" in usage:
            completion_usage["prompt_tokens_details"] = {"cached_tokens": cached}
        if usage.get("reasoning_tokens") is not None:
            completion_usage["completion_tokens_details"] = {
                "reasoning_tokens": usage["reasoning_tokens"]
            }
        return {
            "id": f"chatcmpl-{self.fake.next_id():04d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "?"),
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": text,
                        "tool_calls": tool_calls or None,
                    },
                    "finish_reason": finish,
                }
            ],
            "usage": completion_usage,
        }


def system_text(body: dict) -> str:
    """The system prompt of a request body of either wire (Anthropic's may be blocks)."""
    return _system_of(body)


def _system_of(body: dict) -> str:
    system = body.get("system")
    if isinstance(system, list):
        return " ".join(b.get("text", "") for b in system if isinstance(b, dict))
    if isinstance(system, str):
        return system
    first = (body.get("messages") or [{}])[0]
    if first.get("role") == "system" and isinstance(first.get("content"), str):
        return first["content"]
    return ""


def _has_image(body: dict) -> bool:
    text = json.dumps(body.get("messages") or [])
    return '"type": "image"' in text or '"type": "image_url"' in text


def _as_text_reply(reply: dict) -> dict:
    """The reply's tool calls written as the text protocol's fenced json blocks."""
    blocks = [
        "```json\n" + json.dumps({"tool": c["name"], "arguments": c.get("arguments", {})}) + "\n```"
        for c in reply["tool_calls"]
    ]
    text = "\n".join(filter(None, [reply.get("text"), *blocks]))
    return {k: v for k, v in reply.items() if k != "tool_calls"} | {"text": text}


def _thinking_refusal(body: dict) -> str | None:
    """What the Messages API says to a request with thinking on that breaks its rules."""
    thinking = body.get("thinking") or {}
    if thinking.get("type") not in ("enabled", "adaptive"):
        return None
    if body.get("tools") and (body.get("tool_choice") or {}).get("type") not in (
        None,
        "auto",
        "none",
    ):
        return "Thinking may not be enabled when tool_choice forces tool use."
    if thinking["type"] == "enabled":
        budget = thinking.get("budget_tokens") or 0
        if budget < 1024 or budget >= body.get("max_tokens", 0):
            return "thinking.budget_tokens: must be >= 1024 and less than max_tokens"
    assistants = [m for m in body.get("messages", []) if m.get("role") == "assistant"]
    if assistants:
        content = assistants[-1].get("content") or []
        kinds = [b.get("type") for b in content if isinstance(b, dict)]
        if "tool_use" in kinds and kinds[0] not in ("thinking", "redacted_thinking"):
            return (
                "Expected `thinking` or `redacted_thinking`, but found `tool_use`. When "
                "`thinking` is enabled, a final `assistant` message must start with a thinking "
                "block."
            )
    return None


def _error(wire: str, kind: str, message: str) -> dict:
    if wire == "anthropic":
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": kind, "code": None}}


@contextlib.contextmanager
def fake_server():
    """A running FakeModelServer for the duration of a ``with`` block (or a pytest fixture)."""
    server = FakeModelServer().start()
    try:
        yield server
    finally:
        server.stop()
