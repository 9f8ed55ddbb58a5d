"""The one source of "now". Tests freeze it; everything stores UTC and converts per institute."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

_lock = threading.Lock()
_frozen: datetime | None = None


def now() -> datetime:
    """Current time, timezone-aware UTC."""
    frozen = _frozen
    return frozen if frozen is not None else datetime.now(UTC)


def aware_utc(moment: datetime) -> datetime:
    """A stored time as timezone-aware UTC (SQLite hands datetimes back without a zone)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def today_in(timezone: str) -> date:
    """Today's date in an institute's timezone."""
    return now().astimezone(ZoneInfo(timezone)).date()


def set_frozen(moment: datetime | None) -> None:
    global _frozen
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    with _lock:
        _frozen = moment.astimezone(UTC) if moment is not None else None


@contextmanager
def frozen(moment: datetime) -> Iterator[None]:
    """Freeze the clock at `moment` (naive means UTC) inside the block."""
    previous = _frozen
    set_frozen(moment)
    try:
        yield
    finally:
        set_frozen(previous)


def advance(delta: timedelta) -> None:
    """Move a frozen clock forward."""
    if _frozen is None:
        raise RuntimeError("advance() needs a frozen clock")
    set_frozen(_frozen + delta)
