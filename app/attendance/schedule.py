"""Class sessions generated from the batches' weekly schedules (idempotent, in the institute's time), and ad-hoc classes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlmodel import Session, select

from app.academics import service as academics
from app.academics.models import (
    Batch,
)
from app.attendance.common import aware_utc, occurrences, weekly_slots_internal
from app.attendance.holidays import holiday_map_internal, holiday_name_internal, is_holiday
from app.attendance.models import (
    ClassSession,
    SessionStatus,
)
from app.core import audit
from app.core.errors import Conflict, ValidationError
from app.core.roles import Role
from app.core.tenancy import Actor
from app.identity.models import Institute


def generate_sessions_internal(
    session: Session, *, institute_id: int, start: date, end: date
) -> int:
    """Create the sessions of every active schedule between two dates; existing ones are kept
    and none is created on a holiday (of the institute or of the batch).

    Set-based: one read of schedules, one of holidays, one of existing sessions, one bulk insert.
    """
    if end < start:
        raise ValidationError("The end date is before the start date.")
    institute = session.get(Institute, institute_id)
    tz = ZoneInfo(institute.timezone)
    slots = weekly_slots_internal(session, institute_id)
    if not slots:
        return 0
    window_start = datetime.combine(start, datetime.min.time(), tz).astimezone(UTC)
    window_end = datetime.combine(end + timedelta(days=1), datetime.min.time(), tz).astimezone(UTC)
    existing = {
        (b, aware_utc(s))
        for b, s in session.exec(
            select(ClassSession.batch_id, ClassSession.starts_at).where(
                ClassSession.institute_id == institute_id,
                ClassSession.starts_at >= window_start,
                ClassSession.starts_at < window_end,
            )
        )
    }
    holidays = holiday_map_internal(session, institute_id=institute_id, start=start, end=end)
    rows = []
    for slot, day, starts, ends in occurrences(slots, start, end, tz):
        if (slot.batch_id, starts) in existing or is_holiday(holidays, day, slot.batch_id):
            continue
        existing.add((slot.batch_id, starts))
        rows.append(
            {
                "institute_id": institute_id,
                "batch_id": slot.batch_id,
                "schedule_id": slot.id,
                "date": day,
                "starts_at": starts,
                "ends_at": ends,
                "status": SessionStatus.SCHEDULED.value,
                "version": 0,
            }
        )
    for i in range(0, len(rows), 2000):
        session.execute(insert(ClassSession), rows[i : i + 2000])
    session.flush()
    return len(rows)


def generate_for(session: Session, *, actor: Actor, start: date, end: date) -> int:
    """Admin: create the institute's sessions for a date range (idempotent)."""
    actor.require(Role.ADMIN)
    created = generate_sessions_internal(
        session, institute_id=actor.institute_scope(), start=start, end=end
    )
    audit.record(
        session,
        actor=actor,
        action="sessions.generate",
        detail={"from": str(start), "to": str(end), "created": created},
    )
    return created


def create_adhoc_session(
    session: Session,
    *,
    actor: Actor,
    batch_id: int,
    day: date,
    start_time: time,
    duration_minutes: int,
) -> ClassSession:
    """An extra class outside the weekly schedule."""
    actor.require(Role.ADMIN, Role.TEACHER)
    batch = academics.taught_batch(session, actor=actor, batch_id=batch_id)
    row = new_session_internal(
        session, batch=batch, day=day, start_time=start_time, duration_minutes=duration_minutes
    )
    audit.on(
        session,
        actor,
        "session.add",
        row.id,
        {"batch_id": batch.id, "date": str(day), "minutes": duration_minutes},
        target_type="class_session",
    )
    return row


def new_session_internal(
    session: Session, *, batch: Batch, day: date, start_time: time, duration_minutes: int
) -> ClassSession:
    """A class of a batch outside its weekly schedule (an extra class, or a rescheduled one):
    refused on a holiday of the batch and when the batch already has a class at that time."""
    if not 5 <= duration_minutes <= 600:
        raise ValidationError("A class lasts between 5 and 600 minutes.", field="duration_minutes")
    holiday = holiday_name_internal(
        session, institute_id=batch.institute_id, day=day, batch_id=batch.id
    )
    if holiday:
        raise ValidationError(
            f"{day:%a %d %b} is a holiday ({holiday}) for {batch.name}.", field="day"
        )
    tz = ZoneInfo(session.get(Institute, batch.institute_id).timezone)
    starts = datetime.combine(day, start_time, tz).astimezone(UTC)
    clash = session.exec(
        select(ClassSession.id).where(
            ClassSession.institute_id == batch.institute_id,
            ClassSession.batch_id == batch.id,
            ClassSession.starts_at == starts,
        )
    ).first()
    if clash:
        raise Conflict(f"{batch.name} already has a class at that time.")
    row = ClassSession(
        institute_id=batch.institute_id,
        batch_id=batch.id,
        date=day,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=duration_minutes),
    )
    session.add(row)
    session.flush()
    return row
