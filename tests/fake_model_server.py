"""A local fake model service speaking both wire formats, for tests with the real SDKs.

    with fake_server() as server:
        server.queue({"tool_calls": [{"name": "render_view", "arguments": {}}]})
        server.queue({"fault": "429", "retry_after": 0.2})      # served first-in first-out
        client = anthropic.Anthropic(api_key="k", base_url=server.url)
        openai.OpenAI(api_key="k", base_url=server.url + "/v1")
        server.requests  # [{"path", "headers" (lower-case names), "body"}] every request, in order

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
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_USAGE = {"input_tokens": 120, "output_tokens": 30}


class FakeModelServer:
    def __init__(self):
        self.requests: list[dict] = []
        self._replies: list[dict] = []
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
        self.fake.requests.append(
            {
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
            }
        )
        if self.path.rstrip("/").endswith("/messages"):
            wire = "anthropic"
        elif self.path.rstrip("/").endswith("/chat/completions"):
            wire = "openai"
        else:
            return self._send(404, {"error": {"message": f"no route {self.path}"}})
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
        if reply.get("text") or reply.get("fault") == "no_tool":
            content.append({"type": "text", "text": reply.get("text") or "Looks good to me."})
        calls = [] if reply.get("fault") == "no_tool" else reply.get("tool_calls") or []
        for call in calls:
            arguments = call.get("arguments", {})
            if reply.get("fault") == "malformed":
                arguments = '{"code": "import bpy'  # not an object
            content.append(
                {
                    "type": "tool_use",
                    "id": f"toolu_{self.fake.next_id():04d}",
                    "name": call["name"],
                    "input": arguments,
                }
            )
        usage = {**DEFAULT_USAGE, **(reply.get("usage") or {})}
        return {
            "id": f"msg_{self.fake.next_id():04d}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "?"),
            "content": content,
            "stop_reason": "tool_use" if calls else "end_turn",
            "stop_sequence": None,
            "usage": usage,
        }

    def _openai_reply(self, body: dict, reply: dict) -> dict:
        calls = [] if reply.get("fault") == "no_tool" else reply.get("tool_calls") or []
        tool_calls = []
        for call in calls:
            arguments = json.dumps(call.get("arguments", {}))
            if reply.get("fault") == "malformed":
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
                    "finish_reason": "tool_calls" if tool_calls else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": usage["input_tokens"],
                "completion_tokens": usage["output_tokens"],
                "total_tokens": usage["input_tokens"] + usage["output_tokens"],
            },
        }


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
