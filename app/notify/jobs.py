"""Notification jobs: deliver the outbox every minute."""

from __future__ import annotations

from app.notify import delivery
from app.worker.registry import Job, minute_period


def deliver_outbox(*, engine=None) -> dict:
    return delivery.deliver_due(engine=engine).counts()


JOBS = [
    Job(
        name="outbox_deliver",
        run=deliver_outbox,
        trigger={"trigger": "interval", "minutes": 1},
        period=minute_period,
        description="Send queued Telegram messages (quiet hours respected)",
    ),
]
