"""The bot's job: listen for Telegram updates and answer them (only on the leader)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine

from app.bot import updates
from app.core.config import get_settings
from app.integrations import telegram
from app.notify.jobs import seconds_period
from app.worker.registry import Job

log = logging.getLogger("cohort.bot")
_polling_ready: set[tuple[str | None, str | None]] = set()  # (token, API base URL) ready


def listen_for_updates(
    *, engine: Engine | None = None, seconds: float | None = None
) -> dict[str, Any]:
    """One run: about TELEGRAM_POLL_SECONDS of long polling (or of processing what the webhook
    stored), then old processed updates are forgotten."""
    sender = telegram.get_sender()
    if not isinstance(sender, telegram.TelegramSender):
        return {"skipped": "Telegram is not configured"}
    settings = get_settings()
    webhook = bool(settings.TELEGRAM_WEBHOOK_URL)
    try:
        bot = (settings.TELEGRAM_BOT_TOKEN, settings.TELEGRAM_API_BASE_URL)
        if not webhook and bot not in _polling_ready:
            # A webhook left set (say, by an earlier deployment) makes getUpdates fail: drop it.
            sender.delete_webhook()
            _polling_ready.add(bot)
        result = updates.listen(
            settings.TELEGRAM_POLL_SECONDS if seconds is None else seconds,
            engine=engine,
            sender=sender,
            webhook=webhook,
        )
    except telegram.SendFailed as exc:
        log.warning("Telegram updates: %s", exc)
        return {"error": str(exc)[:300]}
    return result.counts() | {"purged": updates.purge(engine=engine)}


def updates_job() -> Job:
    every = get_settings().TELEGRAM_POLL_SECONDS + 5
    return Job(
        name="telegram_updates",
        run=listen_for_updates,
        trigger={"trigger": "interval", "seconds": every},
        period=seconds_period(every),
        description="Answer Telegram: link chats, commands, button presses (long polling)",
    )


JOBS = [updates_job()]


def _webhook() -> None:
    from app.bot import webhook

    webhook.start_if_configured()


SERVICES = [_webhook]
