"""The Ollama client against the fake server: an answer, a timeout, a refusal, no server."""

import socket

import pytest

from app.core.config import reset_settings_cache
from app.integrations import ollama
from tests.fakes.ollama import fake_ollama


def test_answer_timeout_and_refusal():
    with fake_ollama() as server:
        model = ollama.OllamaChat(server.url + "/", "llama3.2", timeout=0.3)
        server.answer = "  Hello there.  "
        assert model.reply([{"role": "user", "content": "hi"}]) == "Hello there."
        assert server.requests[0]["body"]["messages"] == [{"role": "user", "content": "hi"}]
        server.delay = 1.0
        with pytest.raises(ollama.ModelUnavailable, match="within 0.3 seconds"):
            model.reply([{"role": "user", "content": "hi"}])
        server.delay, server.status = 0.0, 404
        with pytest.raises(ollama.ModelUnavailable, match="HTTP 404: model 'llama3.2' not found"):
            model.reply([{"role": "user", "content": "hi"}])
        server.status, server.answer = 200, "   "
        with pytest.raises(ollama.ModelUnavailable, match="empty answer"):
            model.reply([{"role": "user", "content": "hi"}])


def test_no_server_listening():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    model = ollama.OllamaChat(f"http://127.0.0.1:{port}", "llama3.2", timeout=1)
    with pytest.raises(ollama.ModelUnavailable, match="could not be reached"):
        model.reply([{"role": "user", "content": "hi"}])


def test_configured_only_with_a_base_url(monkeypatch):
    monkeypatch.delenv("OLLAMA_BASE_URL", raising=False)
    reset_settings_cache()
    assert ollama.get_model() is None
    monkeypatch.setenv("OLLAMA_BASE_URL", "http://127.0.0.1:11434")
    monkeypatch.setenv("OLLAMA_MODEL", "qwen2.5:3b")
    reset_settings_cache()
    model = ollama.get_model()
    assert (model.url, model.model) == ("http://127.0.0.1:11434/api/chat", "qwen2.5:3b")
    reset_settings_cache()
