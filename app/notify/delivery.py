"""Delivering queued Telegram messages: claim, send, record — at least once.

1. Claim due messages in one short transaction: quiet-hour messages are pushed to the end of
   the institute's quiet hours; the rest get a lease (next attempt in LEASE) so a second
   delivery run cannot take them.
2. Send each through the sender, then record the outcome: failures at once, successes in
   groups of at most RECORD_EVERY (one UPDATE each) and always before the run ends.

At-least-once window: if the process dies after Telegram accepted messages and before their
"sent" rows committed (at most RECORD_EVERY messages), their lease expires and they are sent
again, once more. Nothing is ever lost: a message leaves `queued` only after its outcome is
recorded.

Limits: about 30 messages/s overall and 1/s per chat (Telegram's), enforced here with sleeps.
Forbidden → blocked (the chat is remembered; never retried); RetryAfter → wait as told; network
errors → exponential back-off, failed after MAX_ATTEMPTS.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, update
from sqlmodel import col, select

from app.core import clock
from app.core.clock import aware_utc
from app.core.db import session_scope
from app.identity.models import Institute
from app.integrations import telegram
from app.notify import buttons, links, service
from app.notify.models import BlockedChat, Channel, Notification, Status

LEASE = timedelta(minutes=5)
RECORD_EVERY = 20  # successful sends are recorded in groups of at most this many
MAX_ATTEMPTS = 6
BASE_BACKOFF = timedelta(seconds=30)
GLOBAL_INTERVAL = 1 / 30  # seconds between any two sends
PER_CHAT_INTERVAL = 1.0  # seconds between two sends to one chat


@dataclass
class DrainResult:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    blocked: int = 0
    deferred_quiet: int = 0
    slept_s: float = 0.0
    errors: list[str] = field(default_factory=list)

    def counts(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "errors"} | {
            "errors": self.errors[:5]
        }


def backoff(attempts: int) -> timedelta:
    return BASE_BACKOFF * (2 ** max(0, attempts - 1))


@dataclass(frozen=True)
class Claimed:
    """A message leased for sending, as it is sent: links minted, buttons signed, file built."""

    id: int
    chat: str
    text: str
    buttons: telegram.Buttons | None = None
    document: telegram.Document | None = None


def claim_due(*, engine: Engine | None = None, limit: int = 500) -> tuple[list[Claimed], int]:
    """Lease due Telegram messages; returns them and how many waited for quiet hours.

    The text returned is the one to send: one-time link references are minted into URLs here
    (app/notify/links.py) and never written back; buttons are signed for the recipient's chat
    (app/notify/buttons.py) and a file the message carries is built now."""
    now = clock.now()
    claimed: list[Claimed] = []
    deferred = 0
    with session_scope(system=True, engine=engine) as session:
        query = (
            select(Notification)
            .where(
                Notification.status == Status.QUEUED.value,
                Notification.channel == Channel.TELEGRAM.value,
                col(Notification.next_attempt_at) <= now,
            )
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = list(session.exec(query))
        institutes = (
            {
                i.id: i
                for i in session.exec(
                    select(Institute).where(col(Institute.id).in_({r.institute_id for r in rows}))
                )
            }
            if rows
            else {}
        )
        quiet: dict[int, datetime | None] = {}
        for row in rows:
            if row.institute_id not in quiet:
                rules = service.effective_rules_internal(session, institute_id=row.institute_id)
                quiet[row.institute_id] = service.quiet_until(
                    now,
                    institutes[row.institute_id].timezone,
                    rules.quiet_hours_start,
                    rules.quiet_hours_end,
                )
            wait_until = quiet[row.institute_id]
            if wait_until is not None:
                row.next_attempt_at = wait_until
                deferred += 1
            else:
                row.next_attempt_at = now + LEASE
                claimed.append(
                    Claimed(
                        id=row.id,
                        chat=row.recipient,
                        text=links.expand(session, row.text),
                        buttons=buttons.build(session, row.recipient, row.buttons),
                        document=links.attachment_internal(
                            session, row.institute_id, row.attachment
                        ),
                    )
                )
            session.add(row)
    return claimed, deferred


def _record(
    engine: Engine | None, notification_id: int, apply: Callable[[Notification, object], None]
) -> None:
    with session_scope(system=True, engine=engine) as session:
        row = session.get(Notification, notification_id)
        if row is not None:
            apply(row, session)
            session.add(row)


def deliver_due(
    *,
    engine: Engine | None = None,
    sender: telegram.MessageSender | None = None,
    limit: int = 500,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> DrainResult:
    """Send every due Telegram message once; returns what happened."""
    sender = sender or telegram.get_sender()
    result = DrainResult()
    claimed, result.deferred_quiet = claim_due(engine=engine, limit=limit)
    result.claimed = len(claimed)
    last_any = -1e9
    last_chat: dict[str, float] = {}
    pending: list[int] = []
    try:
        for message in claimed:
            notification_id, chat = message.id, message.chat
            wait = max(
                GLOBAL_INTERVAL - (monotonic() - last_any),
                PER_CHAT_INTERVAL - (monotonic() - last_chat.get(chat, -1e9)),
            )
            if wait > 0:
                sleep(wait)
                result.slept_s += wait
            try:
                sender.send(chat, message.text, buttons=message.buttons, document=message.document)
            except telegram.SendFailed as exc:
                _handle_failure(engine, notification_id, exc, result)
            else:
                pending.append(notification_id)
                result.sent += 1
                if len(pending) >= RECORD_EVERY:
                    _record_sent(engine, pending)
                    pending = []
            last_any = monotonic()
            last_chat[chat] = last_any
    finally:
        if pending:
            _record_sent(engine, pending)
    return result


def _record_sent(engine: Engine | None, ids: list[int]) -> None:
    with session_scope(system=True, engine=engine) as session:
        session.execute(
            update(Notification)
            .where(col(Notification.id).in_(ids))
            .values(
                status=Status.SENT.value,
                sent_at=clock.now(),
                attempts=Notification.attempts + 1,
                last_error=None,
            )
        )


def _handle_failure(
    engine: Engine | None, notification_id: int, exc: telegram.SendFailed, result: DrainResult
) -> None:
    message = str(exc)[:500]
    result.errors.append(message)

    def apply(row: Notification, session) -> None:
        row.attempts += 1
        row.last_error = message
        if exc.permanent:
            row.status = Status.BLOCKED.value
            exists = session.exec(
                select(BlockedChat.id).where(
                    BlockedChat.institute_id == row.institute_id,
                    BlockedChat.chat_id == row.recipient,
                )
            ).first()
            if exists is None:
                session.add(BlockedChat(institute_id=row.institute_id, chat_id=row.recipient))
            result.blocked += 1
        elif exc.retry_after is not None:
            row.next_attempt_at = clock.now() + timedelta(seconds=exc.retry_after)
            result.retried += 1
        elif row.attempts >= MAX_ATTEMPTS:
            row.status = Status.FAILED.value
            result.failed += 1
        else:
            row.next_attempt_at = clock.now() + backoff(row.attempts)
            result.retried += 1

    _record(engine, notification_id, apply)


def oldest_due_age(*, engine: Engine | None = None) -> timedelta | None:
    """How long the longest-waiting due Telegram message has been due (health check)."""
    with session_scope(system=True, engine=engine) as session:
        oldest = session.exec(
            select(Notification.next_attempt_at)
            .where(
                Notification.status == Status.QUEUED.value,
                Notification.channel == Channel.TELEGRAM.value,
                col(Notification.next_attempt_at) <= clock.now(),
            )
            .order_by(Notification.next_attempt_at)
            .limit(1)
        ).first()
    return None if oldest is None else clock.now() - aware_utc(oldest)
