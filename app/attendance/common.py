"""What the attendance modules share: the messages a sheet or link answers with, and done statuses."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlmodel import Session, col, select

from app.academics.models import Batch, BatchSchedule
from app.core.clock import aware_utc as aware_utc  # (re-exported for the attendance modules)

WINDOW_CLOSED = "Attendance window closed for this class."


LINK_INVALID = "This attendance link is not valid."


LINK_USED = "This attendance link was already used."


LINK_EXPIRED = "This attendance link has expired. Open the sheet from Today instead."


LINK_SUBSCRIPTION = (
    "This institute's subscription has ended, so this attendance link no longer works."
)


DONE_STATUSES = ("completed", "mastered")  # topic statuses that count as done


def weekly_slots_internal(session: Session, institute_id: int, *where: Any) -> list[BatchSchedule]:
    """The institute's active weekly slots of its active batches (narrowed by `where`): what
    `occurrences` expands, for session generation and for a student's planned classes."""
    return list(
        session.exec(
            select(BatchSchedule)
            .join(Batch, col(Batch.id) == col(BatchSchedule.batch_id))
            .where(
                BatchSchedule.institute_id == institute_id,
                col(BatchSchedule.active).is_(True),
                col(Batch.active).is_(True),
                *where,
            )
        ).all()
    )


def occurrences(
    slots: Iterable[Any], start: date, end: date, tz: tzinfo
) -> Iterator[tuple[Any, date, datetime, datetime]]:
    """Every class a weekly schedule plans from `start` to `end` (inclusive), in the institute's
    time zone: (slot, day, starts_at, ends_at), times in UTC, by day then by slot order. The
    one expander of weekly schedules: session generation and the planned classes a student sees
    both use it."""
    slots = list(slots)
    day = start
    while day <= end and slots:
        for slot in slots:
            if slot.weekday == day.weekday():
                starts = datetime.combine(day, slot.start_time, tz).astimezone(UTC)
                yield slot, day, starts, starts + timedelta(minutes=slot.duration_minutes)
        day += timedelta(days=1)
