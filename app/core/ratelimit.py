"""Counting events per key in a sliding window: sign-in failures, code requests, form posts.

Rows are short-lived (a cleanup job deletes old ones); they are global, not per institute,
because they guard actions taken before anyone is known to belong to an institute. So a key
(which may name an email, a phone or a client address) is stored only as its keyed hash.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Index, delete, insert
from sqlmodel import Field, Session, SQLModel, col, func, select

from app.core import audit, clock, models_base  # noqa: F401  (naming convention first)
from app.core.security import keyed_hash


class RateEvent(SQLModel, table=True):
    __tablename__ = "rate_events"
    __table_args__ = (Index("ix_rate_events_key_at", "key", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200)  # keyed_hash of the caller's key, never the key
    at: datetime = Field(default_factory=clock.now)


def _stored(key: str) -> str:
    return keyed_hash(f"rate:{key}")


def hit(session: Session, key: str) -> None:
    """Record one event for `key` now."""
    hit_many(session, [key])


def _within(session: Session, key: str, window: timedelta, edge) -> tuple[int, datetime | None]:
    since = clock.now() - window
    count, moment = session.exec(
        select(func.count(), edge(RateEvent.at)).where(
            RateEvent.key == _stored(key), RateEvent.at >= since
        )
    ).one()
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(count), moment


def recent(session: Session, key: str, window: timedelta) -> tuple[int, datetime | None]:
    """How many events `key` had within `window`, and when the latest was."""
    return _within(session, key, window, func.max)


def oldest_within(session: Session, key: str, window: timedelta) -> tuple[int, datetime | None]:
    """How many events `key` had within `window`, and when the earliest of them was."""
    return _within(session, key, window, func.min)


def admit_public_form(
    session: Session,
    key: str,
    window: timedelta,
    limit: int,
    *,
    client: str,
    refused_action: str,
    source: str | None,
) -> bool:
    """Count one attempt at a public form under `key`; once `limit` attempts fell within
    `window` it is refused instead (False), audited as `refused_action` for the `client`."""
    count, _ = recent(session, key, window)
    if count >= limit:
        audit.record(
            session,
            actor=None,
            action=refused_action,
            target_type="client",
            target_id=client,
            source=source,
        )
        return False
    hit(session, key)
    return True


def recent_counts(session: Session, keys: list[str], window: timedelta) -> dict[str, int]:
    """How many events each of `keys` had within `window`, in one grouped query."""
    if not keys:
        return {}
    stored = {_stored(key): key for key in keys}
    counts = dict.fromkeys(keys, 0)
    for hashed, count in session.exec(
        select(RateEvent.key, func.count())
        .where(col(RateEvent.key).in_(list(stored)), RateEvent.at >= clock.now() - window)
        .group_by(RateEvent.key)
    ):
        counts[stored[hashed]] = int(count)
    return counts


def hit_many(session: Session, keys: list[str]) -> None:
    """Record one event now for each of `keys` (a key may repeat), in one insert."""
    if keys:
        now = clock.now()
        session.execute(insert(RateEvent), [{"key": _stored(key), "at": now} for key in keys])


def clear(session: Session, key: str) -> None:
    session.execute(delete(RateEvent).where(col(RateEvent.key) == _stored(key)))


def purge_older_than(session: Session, age: timedelta) -> int:
    """Delete events older than `age`; returns how many."""
    result = session.execute(delete(RateEvent).where(col(RateEvent.at) < clock.now() - age))
    return result.rowcount or 0
