"""Drafting tests: the coursework world (a teacher's batch of four, another teacher's batch) and
the fake Ollama server the app is pointed at."""

import pytest

from app.core.config import reset_settings_cache
from tests.coursework.conftest import NOW, TODAY, world  # noqa: F401  (fixture re-used)
from tests.fakes.ollama import fake_ollama


@pytest.fixture
def ollama_server(monkeypatch):
    """The fake Ollama server, configured as the app's model (OLLAMA_BASE_URL)."""
    with fake_ollama() as server:
        monkeypatch.setenv("OLLAMA_BASE_URL", server.url)
        monkeypatch.setenv("OLLAMA_MODEL", "llama3.2")
        monkeypatch.setenv("OLLAMA_TIMEOUT_SECONDS", "2")
        reset_settings_cache()
        yield server
    reset_settings_cache()
