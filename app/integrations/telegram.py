"""Talking to Telegram through python-telegram-bot, behind a small interface.

`MessageSender.send(chat_id, text, buttons=...)` is what most callers see; the sign-in code uses
it directly and the notification outbox reuses it. The bot (app.bot) also reads updates, answers
button presses, takes buttons off a message and sends files. Tests install a sender whose Bot
talks to a fake transport or to a local fake Bot API server.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from telegram import Bot, ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.request import BaseRequest

from app.core.config import get_settings

log = logging.getLogger("cohort.telegram")
T = TypeVar("T")


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


@dataclass(frozen=True)
class Button:
    """An inline button: it opens `url`, or sends `data` (at most 64 bytes) back to the bot."""

    text: str
    url: str | None = None
    data: str | None = None


Buttons = list[list[Button]]  # rows of buttons


@dataclass(frozen=True)
class Document:
    """A file sent with a message (the report card PDF)."""

    filename: str
    content: bytes


class MessageSender(Protocol):
    def send(
        self,
        chat_id: str,
        text: str,
        *,
        buttons: Buttons | None = None,
        document: Document | None = None,
    ) -> Sent: ...


def _markup(buttons: Buttons | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(b.text, url=b.url)
                if b.url
                else InlineKeyboardButton(b.text, callback_data=b.data)
                for b in row
            ]
            for row in buttons
        ]
    )


class TelegramSender:
    """The real client: python-telegram-bot's Bot, run synchronously on a private event-loop thread."""

    def __init__(
        self, token: str, *, base_url: str | None = None, request: BaseRequest | None = None
    ) -> None:
        self._bot = Bot(
            token,
            request=request,
            # A test's transport answers getUpdates too (the Bot keeps a second one for it).
            get_updates_request=request,
            **({"base_url": base_url.rstrip("/") + "/bot"} if base_url else {}),
        )
        # The bot's coroutines run on a private loop in its own thread, so callers on any thread
        # (Streamlit script threads, the worker, a test with another loop running) can wait on them.
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="telegram-sender", daemon=True
        )
        self._thread.start()
        self._username: str | None = None

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def send(
        self,
        chat_id: str,
        text: str,
        *,
        buttons: Buttons | None = None,
        document: Document | None = None,
        force_reply: bool = False,
    ) -> Sent:
        """Send a message (with inline buttons, or a file with the text as its caption);
        `force_reply` opens the recipient's reply box (the bot asks for an answer)."""
        markup = ForceReply(selective=True) if force_reply else _markup(buttons)
        if document is not None:
            message = self._call(
                self._bot.send_document(
                    chat_id=chat_id,
                    document=InputFile(document.content, filename=document.filename),
                    caption=text[:1024],
                    reply_markup=markup,
                )
            )
            if len(text) > 1024:  # a caption holds 1,024 characters: the rest follows as text
                self._call(self._bot.send_message(chat_id=chat_id, text=text))
        else:
            message = self._call(
                self._bot.send_message(chat_id=chat_id, text=text, reply_markup=markup)
            )
        return Sent(chat_id=str(chat_id), message_id=getattr(message, "message_id", None))

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run one Bot API call, turning Telegram's errors into SendFailed."""
        try:
            return self._run(coro)
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

    def check(self) -> str:
        """The bot's username (proves the token and the connection work)."""
        me = self._run(self._bot.get_me())
        return str(me.username)

    def username(self) -> str:
        """The bot's username, asked once per process."""
        if self._username is None:
            self._username = self.check()
        return self._username

    def get_updates(
        self, offset: int | None, timeout: int = 0, limit: int = 100
    ) -> list[dict[str, Any]]:
        """New updates (long polling for up to `timeout` seconds), as Telegram's JSON objects."""
        updates = self._call(
            self._bot.get_updates(
                offset=offset,
                timeout=timeout,
                limit=limit,
                allowed_updates=["message", "callback_query"],
                read_timeout=timeout + 10,
            )
        )
        return [u.to_dict() for u in updates]

    def answer_button(self, callback_query_id: str, text: str | None = None) -> None:
        """Acknowledge a button press (the small notice the user sees)."""
        self._call(self._bot.answer_callback_query(callback_query_id, text=text))

    def clear_buttons(self, chat_id: str, message_id: int) -> None:
        """Take the buttons off a message once its action is done."""
        self._call(
            self._bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=message_id, reply_markup=None
            )
        )

    def set_webhook(self, url: str, secret: str) -> None:
        self._call(
            self._bot.set_webhook(
                url, secret_token=secret, allowed_updates=["message", "callback_query"]
            )
        )

    def delete_webhook(self) -> None:
        self._call(self._bot.delete_webhook())


class LogSender:
    """Development stand-in when no bot token is configured: messages go to the server log.

    In production nothing is written: without a token a message cannot be sent, and says so.
    """

    def send(
        self,
        chat_id: str,
        text: str,
        *,
        buttons: Buttons | None = None,
        document: Document | None = None,
    ) -> Sent:
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
