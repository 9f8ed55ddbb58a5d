"""Receiving Telegram updates and processing each exactly once.

Updates arrive by long polling (`getUpdates`, the default) or by webhook (app/bot/webhook.py,
when TELEGRAM_WEBHOOK_URL is set). Either way they are first stored in `telegram_updates`,
keyed by Telegram's update_id: an update delivered twice (a replayed webhook, a poll repeated
after a crash) is stored once. Then the leader's job processes the stored ones in order, each
in its own transaction that first claims the row (processed_at set only if still empty), so a
second process never handles it again. Replies go out after the transaction commits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, delete, func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select

from app.bot import handlers
from app.bot.models import TelegramUpdate
from app.core import clock
from app.core.db import TENANT_INFO_KEY, get_engine, session_scope, set_tenant
from app.integrations import telegram
from app.worker.registry import STOPPING

log = logging.getLogger("cohort.bot")
KEEP = timedelta(days=7)  # processed updates are kept this long (replays within it are caught)
POLL_SLICE = 5  # seconds of one long poll


def store(updates: list[dict[str, Any]], *, engine: Engine | None = None) -> int:
    """Keep new updates (an update_id already stored is ignored); returns how many were new."""
    rows = [
        {"update_id": int(u["update_id"]), "payload": u, "received_at": clock.now()}
        for u in updates
        if "update_id" in u
    ]
    if not rows:
        return 0
    bind = engine or get_engine()
    dialect = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
    with session_scope(system=True, engine=bind) as session:
        known = set(
            session.exec(
                select(TelegramUpdate.update_id).where(
                    col(TelegramUpdate.update_id).in_([r["update_id"] for r in rows])
                )
            )
        )
        new = list({r["update_id"]: r for r in rows if r["update_id"] not in known}.values())
        if new:  # ON CONFLICT: another process storing the same update at once
            session.execute(
                dialect(TelegramUpdate).on_conflict_do_nothing(index_elements=["update_id"]), new
            )
    return len(new)


def next_offset(*, engine: Engine | None = None) -> int | None:
    """The offset for getUpdates: one past the newest update stored (confirms the rest)."""
    with session_scope(system=True, engine=engine, readonly=True) as session:
        newest = session.exec(select(func.max(TelegramUpdate.update_id))).one()
    return None if newest is None else int(newest) + 1


@dataclass
class Processed:
    processed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    send_errors: int = 0

    def counts(self) -> dict[str, Any]:
        return {"processed": self.processed, "send_errors": self.send_errors} | self.outcomes


CHUNK = 50  # updates handled in one transaction (each in its own savepoint)


def process_pending(
    *,
    engine: Engine | None = None,
    sender: telegram.TelegramSender | None = None,
    limit: int = 1000,
    result: Processed | None = None,
) -> Processed:
    """Handle every stored, unprocessed update (oldest first), each once: claimed in chunks,
    each update in a savepoint of its chunk's transaction, its replies sent after the commit."""
    result = result or Processed()
    with session_scope(system=True, engine=engine, readonly=True) as session:
        pending = list(
            session.exec(
                select(TelegramUpdate.update_id)
                .where(col(TelegramUpdate.processed_at).is_(None))
                .order_by(col(TelegramUpdate.update_id))
                .limit(limit)
            )
        )
    for start in range(0, len(pending), CHUNK):
        for _update_id, outcome, effects in _process_chunk(pending[start : start + CHUNK], engine):
            result.processed += 1
            result.outcomes[outcome] = result.outcomes.get(outcome, 0) + 1
            if sender is not None:
                result.send_errors += perform(effects, sender)
    return result


def _process_chunk(
    update_ids: list[int], engine: Engine | None
) -> list[tuple[int, str, list[Any]]]:
    """Claim the chunk's updates still unprocessed (another process may have taken some) and
    handle each in a savepoint: one that fails is recorded as "error" and the others stand."""
    done: list[tuple[int, str, list[Any]]] = []
    with session_scope(system=True, engine=engine) as session:
        claimed = sorted(
            session.execute(
                update(TelegramUpdate)
                .where(
                    col(TelegramUpdate.update_id).in_(update_ids),
                    col(TelegramUpdate.processed_at).is_(None),
                )
                .values(processed_at=clock.now(), outcome="processing")
                .returning(col(TelegramUpdate.update_id))
            ).scalars()
        )
        if not claimed:
            return []
        payloads = dict(
            session.execute(
                select(col(TelegramUpdate.update_id), col(TelegramUpdate.payload)).where(
                    col(TelegramUpdate.update_id).in_(claimed)
                )
            ).all()
        )
        with handlers.chunk_limits(session, [dict(payloads[u]) for u in claimed]):
            for update_id in claimed:
                if session.info.get(TENANT_INFO_KEY) != (None, True):
                    set_tenant(session, institute_id=None, super_access=True)  # who is this?
                try:
                    with session.begin_nested():
                        handled = handlers.handle(session, dict(payloads[update_id]))
                    done.append((update_id, handled.outcome[:60], handled.effects))
                except Exception:  # noqa: BLE001 - one bad update never stops the others
                    log.exception("Telegram update %s failed", update_id)
                    done.append((update_id, "error", []))
        table = TelegramUpdate.__table__  # type: ignore[attr-defined]
        session.execute(
            update(table)
            .where(table.c.update_id == bindparam("b_id"))
            .values(outcome=bindparam("b_outcome")),
            [{"b_id": u, "b_outcome": o} for u, o, _ in done],
        )
    return done


def perform(effects: list[Any], sender: telegram.TelegramSender) -> int:
    """Make the Telegram calls of a processed update; returns how many failed (logged)."""
    failed = 0
    for effect in effects:
        try:
            if isinstance(effect, handlers.Send):
                sender.send(
                    effect.chat,
                    effect.text,
                    buttons=effect.buttons,
                    document=effect.document,
                    force_reply=effect.prompt,
                )
            elif isinstance(effect, handlers.Answer):
                sender.answer_button(effect.callback_id, effect.text)
            elif isinstance(effect, handlers.Clear):
                sender.clear_buttons(effect.chat, effect.message_id)
        except telegram.SendFailed as exc:
            failed += 1
            log.warning("Telegram call failed: %s", exc)
    return failed


def purge(*, engine: Engine | None = None) -> int:
    with session_scope(system=True, engine=engine) as session:
        purged: int = (
            session.execute(  # type: ignore[attr-defined]
                delete(TelegramUpdate).where(
                    col(TelegramUpdate.processed_at).is_not(None),
                    col(TelegramUpdate.received_at) < clock.now() - KEEP,
                )
            ).rowcount
            or 0
        )
    return purged


def listen(
    seconds: float,
    *,
    engine: Engine | None = None,
    sender: telegram.TelegramSender,
    webhook: bool = False,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Processed:
    """For up to `seconds`: fetch updates (long polling; with a webhook they are already
    stored) and process them as they come. One run of the updates job."""
    result = Processed()
    deadline = monotonic() + seconds
    while True:
        left = deadline - monotonic()
        if not webhook:
            # Long polls of at most POLL_SLICE seconds, so a stopping worker waits no longer.
            wait = max(0, min(POLL_SLICE, int(left)))
            store(sender.get_updates(next_offset(engine=engine), timeout=wait), engine=engine)
        process_pending(engine=engine, sender=sender, result=result)
        if monotonic() >= deadline or STOPPING.is_set():
            return result
        if webhook:
            sleep(min(0.5, max(0.0, deadline - monotonic())))
