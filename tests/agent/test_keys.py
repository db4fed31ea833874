"""The one API-key resolver (providers/keys.py): order, local servers, messages; and for real, a
local OpenAI-compatible server through the worker with no key, and a remote one refused early."""

import socket
import subprocess
import time

import pytest

from tests.fake_model_server import fake_server
from viga_addon.agent import messages as m
from viga_addon.agent.errors import AuthError, ConfigError
from viga_addon.agent.providers import (
    KeyChoice,
    is_local_url,
    make_provider,
    missing_key_message,
    needs_key,
    needs_online,
    resolve_key,
)
from viga_addon.agent.providers.keys import LOCAL_PLACEHOLDER_KEY
from viga_addon.agent.worker import ModelWorker

KEY = "sk-keys-SECRET-0123456789abcdef"
LOCAL = [
    "http://localhost:11434/v1",
    "http://LOCALHOST./v1",
    "http://127.0.0.1:8000/v1",
    "http://127.3.4.5/v1",
    "http://[::1]:8080/v1",
    "http://10.0.0.7:8000/v1",
    "http://172.16.5.5/v1",
    "http://192.168.1.9:1234/v1",
    "http://studio.local:1234/v1",
    "http://ollama.localhost/v1",
    "http://host.docker.internal:11434/v1",
    "localhost:11434/v1",  # no scheme
]
REMOTE = [
    "https://api.openai.com/v1",
    "https://models.example.com/v1",
    "http://8.8.8.8/v1",
    "http://localhost.example.com/v1",
    "http://[::1/v1",  # not even a URL
    "",
    None,
]


@pytest.mark.smoke
@pytest.mark.parametrize("url", LOCAL)
def test_local_urls(url):
    assert is_local_url(url)
    assert not needs_key("openai", url, environ={})
    assert not needs_online("openai", url, environ={})
    assert resolve_key("openai", base_url=url, environ={}) == KeyChoice(
        LOCAL_PLACEHOLDER_KEY, "local server: no key needed"
    )


@pytest.mark.smoke
@pytest.mark.parametrize("url", REMOTE)
def test_remote_urls_need_a_key(url):
    assert not is_local_url(url)
    assert needs_key("openai", url, environ={}) and needs_online("openai", url, environ={})
    with pytest.raises(AuthError) as info:
        resolve_key("openai", base_url=url, environ={})
    assert str(info.value) == missing_key_message("openai", url or None)


@pytest.mark.smoke
def test_order_explicit_then_preferences_then_environment():
    env = {"ANTHROPIC_API_KEY": " sk-env ", "OPENAI_API_KEY": "sk-oai"}
    choice = resolve_key("anthropic", explicit="sk-given", stored="sk-prefs", environ=env)
    assert choice == KeyChoice("sk-given", "given by the caller")
    choice = resolve_key("anthropic", explicit="  ", stored=" sk-prefs\n", environ=env)
    assert choice == KeyChoice("sk-prefs", "add-on preferences")
    choice = resolve_key("anthropic", stored="", environ=env)
    assert choice == KeyChoice("sk-env", "environment variable ANTHROPIC_API_KEY")
    assert resolve_key("openai", environ=env).source == "environment variable OPENAI_API_KEY"
    # a key, where there is one, goes to a local server too (e.g. vLLM --api-key)
    local = resolve_key("openai", base_url="http://localhost:8000/v1", environ=env)
    assert local == KeyChoice("sk-oai", "environment variable OPENAI_API_KEY")


@pytest.mark.smoke
def test_openai_base_url_from_the_environment():
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:11434/v1"}
    assert resolve_key("openai", environ=env).key == LOCAL_PLACEHOLDER_KEY
    assert not needs_online("openai", environ=env)
    # an explicit URL wins over the variable
    with pytest.raises(AuthError):
        resolve_key("openai", base_url="https://api.openai.com/v1", environ=env)


@pytest.mark.smoke
def test_scripted_anthropic_and_unknown_providers():
    assert resolve_key("scripted", explicit="ignored", environ={}) == KeyChoice("", "no key needed")
    assert not needs_key("scripted") and not needs_online("scripted")
    # Anthropic always needs a key: a local base URL for it is a proxy that forwards the key
    assert needs_key("anthropic", "http://localhost:4000", environ={})
    assert needs_online("anthropic", "http://localhost:4000", environ={})
    with pytest.raises(AuthError, match="ANTHROPIC_API_KEY"):
        resolve_key("anthropic", base_url="http://localhost:4000", environ={})
    assert resolve_key(" Anthropic ", explicit=KEY).key == KEY  # names are normalised
    with pytest.raises(ConfigError, match="anthropic, openai, scripted"):
        resolve_key("gemini", environ={})
    with pytest.raises(ConfigError):
        needs_key("gemini")


@pytest.mark.smoke
def test_missing_key_message_says_how_where_and_about_the_demo():
    text = missing_key_message("anthropic")
    assert "No Anthropic API key" in text and "ANTHROPIC_API_KEY" in text
    assert "Edit › Preferences › Add-ons › VIGA" in text
    assert "--provider scripted" in text and "Offline Demo" in text
    assert "base-url" not in text  # no local-server advice where it cannot help
    text = missing_key_message("openai", "https://user:pass@models.example.com:8443/v1?k=v")
    assert "OPENAI_API_KEY" in text and "localhost" in text and "--provider scripted" in text
    assert "https://models.example.com:8443 is not a local server" in text
    assert "pass" not in text and "k=v" not in text  # no credentials or query from the URL


@pytest.mark.smoke
def test_the_key_stays_out_of_reprs():
    choice = resolve_key("openai", explicit=KEY, environ={})
    assert choice.key == KEY and KEY not in repr(choice) and KEY not in str(choice)


# -- for real: the worker, the openai SDK and the fake server ---------------------------------
def _request():
    return {
        "system": "Stage: geometry — Generator",
        "messages": [m.user(m.text("Rebuild the photo."))],
        "tools": [m.tool("execute_code", "Run code.", {"code": {"type": "string"}}, ["code"])],
        "max_tokens": 128,
        "meta": {"stage": "geometry", "role": "generator", "round": 1, "turn": 0},
    }


def test_local_server_through_the_worker_needs_no_key(monkeypatch):
    for env in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(env, raising=False)
    call = {"name": "execute_code", "arguments": {"code": "pass"}}
    with fake_server() as server:  # on 127.0.0.1
        server.queue({"tool_calls": [call]})
        with ModelWorker("openai", "llava:13b", None, server.url + "/v1", {}) as worker:
            worker.submit(_request())
            deadline = time.monotonic() + 60
            reply = None
            while reply is None and time.monotonic() < deadline:
                reply = worker.poll()
                time.sleep(0.01)
            tail = worker.stderr_tail()
        requests = list(server.requests)
    assert reply is not None and reply.ok, (reply, tail)
    assert reply.response["tool_calls"][0]["arguments"] == call["arguments"]
    assert reply.response["cost_usd"] == 0.0  # a local server is free
    assert len(requests) == 1 and requests[0]["path"] == "/v1/chat/completions"
    assert requests[0]["headers"]["authorization"] == f"Bearer {LOCAL_PLACEHOLDER_KEY}"


@pytest.mark.smoke
def test_remote_server_without_a_key_fails_before_any_process_or_network_call(monkeypatch):
    for env in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(env, raising=False)
    attempts = []

    def no_process(*args, **kwargs):
        attempts.append(("process", args))
        raise AssertionError("a process was started")

    def no_network(*args, **kwargs):
        attempts.append(("network", args))
        raise AssertionError("the network was used")

    monkeypatch.setattr(subprocess, "Popen", no_process)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    url = "https://models.example.com/v1"
    with pytest.raises(AuthError) as info:
        ModelWorker("openai", "some-model", None, url, {})
    text = str(info.value)
    assert "https://models.example.com is not a local server" in text
    assert "OPENAI_API_KEY" in text and "Preferences" in text and "--provider scripted" in text
    with pytest.raises(AuthError):
        make_provider("openai", base_url=url)  # the provider itself refuses too, as early
    assert attempts == []
