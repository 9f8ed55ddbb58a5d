"""Sending a Telegram message through python-telegram-bot, behind a small interface.

`MessageSender.send(chat_id, text)` is all callers see; the sign-in code uses it directly and
the notification outbox reuses it. Tests install a sender whose Bot talks to a fake transport.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from typing import Protocol

from telegram import Bot
from telegram.error import Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.request import BaseRequest

from app.core.config import get_settings

log = logging.getLogger("cohort.telegram")


class SendFailed(Exception):
    """The message was not delivered; `permanent` when retrying cannot help (blocked bot)."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


@dataclass(frozen=True)
class Sent:
    chat_id: str
    message_id: int | None


class MessageSender(Protocol):
    def send(self, chat_id: str, text: str) -> Sent: ...


class TelegramSender:
    """The real client: python-telegram-bot's Bot, run synchronously on a private event-loop thread."""

    def __init__(
        self, token: str, *, base_url: str | None = None, request: BaseRequest | None = None
    ) -> None:
        kwargs = {}
        if base_url:
            kwargs["base_url"] = base_url.rstrip("/") + "/bot"
        self._bot = Bot(token, request=request, **kwargs)
        # The bot's coroutines run on a private loop in its own thread, so callers on any thread
        # (Streamlit script threads, the worker, a test with another loop running) can wait on them.
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="telegram-sender", daemon=True
        )
        self._thread.start()

    def _run(self, coro, timeout: float = 60):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def send(self, chat_id: str, text: str) -> Sent:
        try:
            message = self._run(self._bot.send_message(chat_id=chat_id, text=text))
        except Forbidden as exc:
            raise SendFailed(
                f"The recipient blocked the bot: {exc.message}", permanent=True
            ) from exc
        except RetryAfter as exc:
            wait = (
                exc.retry_after.total_seconds()
                if hasattr(exc.retry_after, "total_seconds")
                else float(exc.retry_after)
            )
            raise SendFailed(f"Telegram asked to wait {wait:.0f} s", retry_after=wait) from exc
        except NetworkError as exc:
            raise SendFailed(f"Telegram could not be reached: {exc.message}") from exc
        except TelegramError as exc:
            raise SendFailed(
                f"Telegram refused the message: {exc.message}", permanent=True
            ) from exc
        return Sent(chat_id=str(chat_id), message_id=getattr(message, "message_id", None))

    def check(self) -> str:
        """The bot's username (proves the token and the connection work)."""
        me = self._run(self._bot.get_me())
        return me.username


class LogSender:
    """Development stand-in when no bot token is configured: messages go to the server log.

    In production nothing is written: without a token a message cannot be sent, and says so.
    """

    def send(self, chat_id: str, text: str) -> Sent:
        if not get_settings().is_dev:
            raise SendFailed("Telegram is not configured (TELEGRAM_BOT_TOKEN is empty).")
        log.warning("Telegram is not configured; message for chat %s: %s", chat_id, text)
        return Sent(chat_id=str(chat_id), message_id=None)


_override: MessageSender | None = None
_cached: dict[tuple[str | None, str | None], MessageSender] = {}


def get_sender() -> MessageSender:
    """The configured sender (a test may install its own with `use_sender`)."""
    if _override is not None:
        return _override
    settings = get_settings()
    key = (settings.TELEGRAM_BOT_TOKEN, settings.TELEGRAM_API_BASE_URL)
    if key not in _cached:
        if settings.TELEGRAM_BOT_TOKEN:
            _cached[key] = TelegramSender(
                settings.TELEGRAM_BOT_TOKEN, base_url=settings.TELEGRAM_API_BASE_URL
            )
        else:
            _cached[key] = LogSender()
    return _cached[key]


def configured() -> bool:
    return bool(get_settings().TELEGRAM_BOT_TOKEN) or _override is not None


def use_sender(sender: MessageSender | None) -> None:
    global _override
    _override = sender
