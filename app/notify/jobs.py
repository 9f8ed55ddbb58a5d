"""Notification jobs: deliver the outbox every minute (or every WORKER_OUTBOX_INTERVAL_SECONDS)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from app.core.config import get_settings
from app.notify import delivery
from app.worker.registry import Job, minute_period


def deliver_outbox(*, engine=None) -> dict:
    return delivery.deliver_due(engine=engine).counts()


def seconds_period(seconds: int) -> Callable[[datetime], str]:
    """One period per `seconds`-long slice of time, so each run of a short interval counts."""

    def period(moment: datetime) -> str:
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        start = int(aware.timestamp()) // seconds * seconds
        return datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%M:%S")

    return period


def outbox_job(interval_seconds: int | None = None) -> Job:
    """The outbox job; `interval_seconds` (default: the setting) replaces the one-minute beat."""
    seconds = interval_seconds or get_settings().WORKER_OUTBOX_INTERVAL_SECONDS
    trigger: dict = {"trigger": "interval", "minutes": 1}
    period = minute_period
    if seconds:
        trigger, period = {"trigger": "interval", "seconds": seconds}, seconds_period(seconds)
    return Job(
        name="outbox_deliver",
        run=deliver_outbox,
        trigger=trigger,
        period=period,
        description="Send queued Telegram messages (quiet hours respected)",
    )


JOBS = [outbox_job()]
