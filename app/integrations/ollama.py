"""A local language model through Ollama's HTTP API (/api/chat), behind a small interface.

`ChatModel.reply(messages)` is all callers see: a list of {"role", "content"} in, text out, or
`ModelUnavailable` with a plain reason (not configured, timed out, refused, unreadable). The
standard library's HTTP client is enough here, so no dependency is added.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Protocol

from app.core.config import get_settings


class ModelUnavailable(Exception):
    """The model gave no answer; the message says why in words a person understands."""


class ChatModel(Protocol):
    def reply(self, messages: list[dict[str, str]]) -> str: ...


class OllamaChat:
    """Ollama's /api/chat, one non-streamed answer per call, within `timeout` seconds."""

    def __init__(self, base_url: str, model: str, *, timeout: float = 20.0) -> None:
        self.url = base_url.rstrip("/") + "/api/chat"
        self.model = model
        self.timeout = timeout

    def reply(self, messages: list[dict[str, str]]) -> str:
        body = json.dumps(
            {
                "model": self.model,
                "messages": messages,
                "stream": False,
                "options": {"temperature": 0.2},
            }
        ).encode()
        request = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                payload = json.loads(response.read().decode("utf-8"))
        except TimeoutError as exc:
            raise ModelUnavailable(
                f"The local model did not answer within {self.timeout:g} seconds."
            ) from exc
        except urllib.error.HTTPError as exc:
            detail = _error_text(exc)
            raise ModelUnavailable(
                f"The local model refused the request (HTTP {exc.code}{': ' + detail if detail else ''})."
            ) from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise ModelUnavailable(
                    f"The local model did not answer within {self.timeout:g} seconds."
                ) from exc
            raise ModelUnavailable(
                f"The local model could not be reached at {self.url} ({exc.reason})."
            ) from exc
        except (ValueError, OSError) as exc:
            raise ModelUnavailable(f"The local model's answer could not be read ({exc}).") from exc
        content = ((payload or {}).get("message") or {}).get("content")
        if not isinstance(content, str) or not content.strip():
            raise ModelUnavailable("The local model returned an empty answer.")
        return content.strip()


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(exc.read().decode("utf-8") or "{}")
    except (ValueError, OSError):
        return ""
    return str(data.get("error") or "")[:200] if isinstance(data, dict) else ""


_override: ChatModel | None = None


def get_model() -> ChatModel | None:
    """The configured model (OLLAMA_BASE_URL), a test's stand-in, or None when there is none."""
    if _override is not None:
        return _override
    settings = get_settings()
    if not settings.OLLAMA_BASE_URL:
        return None
    return OllamaChat(
        settings.OLLAMA_BASE_URL, settings.OLLAMA_MODEL, timeout=settings.OLLAMA_TIMEOUT_SECONDS
    )


def use_model(model: ChatModel | None) -> None:
    """Install a model for tests (None: back to the settings)."""
    global _override
    _override = model
