"""Reading the holiday calendar: which days have no classes, for the whole institute or a batch."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from app.attendance.models import Holiday

# Day → the batch ids it is a holiday for; None in the set means every batch.
HolidayMap = dict[date, set[int | None]]


def holiday_map_internal(
    session: Session, *, institute_id: int, start: date, end: date
) -> HolidayMap:
    """The institute's holidays between two dates (inclusive), in one query."""
    days: HolidayMap = {}
    for holiday in session.exec(
        select(Holiday).where(
            Holiday.institute_id == institute_id, Holiday.date >= start, Holiday.date <= end
        )
    ):
        days.setdefault(holiday.date, set()).add(holiday.batch_id)
    return days


def is_holiday(holidays: HolidayMap, day: date, batch_id: int) -> bool:
    """Whether a batch has no classes on a day."""
    batches = holidays.get(day, set())
    return None in batches or batch_id in batches


def holiday_name_internal(
    session: Session, *, institute_id: int, day: date, batch_id: int
) -> str | None:
    """The name of the holiday a batch has on a day, if it has one."""
    for name, on_batch in session.exec(
        select(Holiday.name, Holiday.batch_id).where(
            Holiday.institute_id == institute_id, Holiday.date == day
        )
    ):
        if on_batch is None or on_batch == batch_id:
            return name
    return None
