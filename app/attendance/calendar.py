"""The holiday calendar (admins) and cancelling or moving one class (admins and the batch's
teacher), with students and guardians told through the outbox, once each.

A class that is cancelled or moved keeps its row (so session generation never creates it again)
with status `cancelled` or `rescheduled`, the reason, and for a moved class the new session.
Only a class not held can be taken out: one with attendance marks was held, and its marks have
already run the post-class pipeline (topic progress, guardians told of absences), so cancelling
it is refused rather than leaving marks that would count for a class that "never happened".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.academics import service as academics
from app.academics.models import Batch, Guardian
from app.attendance.common import aware_utc
from app.attendance.holidays import holiday_map_internal, holiday_name_internal, is_holiday
from app.attendance.lifecycle import live_status
from app.attendance.models import AttendanceRecord, ClassSession, Holiday, SessionStatus
from app.attendance.schedule import new_session_internal
from app.core import audit, clock
from app.core.errors import Conflict, ValidationError
from app.core.ownership import all_owned, get_owned
from app.core.roles import Role
from app.core.tenancy import Actor
from app.identity.models import Institute
from app.inbox import service as inbox
from app.notify import service as notify

# Classes that can still be cancelled or moved: not held yet (a missed class had no sheet).
NOT_TAKEN = (SessionStatus.SCHEDULED.value, SessionStatus.OPEN.value, SessionStatus.MISSED.value)
HELD = "Attendance was taken for this class, so it was held; it cannot be cancelled or moved."


# ------------------------------------------------------------------ holidays


@dataclass(frozen=True)
class HolidayRow:
    id: int
    date: date
    name: str
    batch_id: int | None
    batch: str | None  # None: the whole institute


def list_holidays(
    session: Session, *, actor: Actor, start: date | None = None, end: date | None = None
) -> list[HolidayRow]:
    """The institute's holidays (from a date, to a date), by date."""
    actor.require(Role.ADMIN, Role.TEACHER)
    query = (
        select(Holiday, Batch.name)
        .outerjoin(Batch, col(Batch.id) == col(Holiday.batch_id))
        .where(Holiday.institute_id == actor.institute_scope())
    )
    if start is not None:
        query = query.where(Holiday.date >= start)
    if end is not None:
        query = query.where(Holiday.date <= end)
    return [
        HolidayRow(id=h.id or 0, date=h.date, name=h.name, batch_id=h.batch_id, batch=b)
        for h, b in session.exec(query.order_by(col(Holiday.date), col(Holiday.id))).all()
    ]


def add_holiday(
    session: Session, *, actor: Actor, day: date, name: str, batch_ids: list[int] | None = None
) -> list[Holiday]:
    """Admin: make a day a holiday for the whole institute (no batches) or some batches. No
    class is created on it, and the classes already created and not taken are cancelled, with
    their students and guardians told."""
    actor.require(Role.ADMIN)
    institute_id = actor.institute_scope()
    name = (name or "").strip()
    if not name:
        raise ValidationError(
            "Name the holiday (it is told to students and guardians).", field="name"
        )
    if len(name) > 200:
        raise ValidationError("A holiday's name has at most 200 characters.", field="name")
    wanted: list[int | None] = list(
        all_owned(
            session,
            Batch,
            batch_ids or [],
            institute_id,
            message="Choose batches of this institute.",
            field="batch_ids",
        )
    ) or [None]
    existing = {
        b
        for b in session.exec(
            select(Holiday.batch_id).where(
                Holiday.institute_id == institute_id, Holiday.date == day
            )
        )
    }
    if None in existing or set(wanted) & existing:
        raise Conflict(
            f"{day:%a %d %b} is already a holiday"
            + ("." if None in existing or wanted == [None] else " for some of these batches.")
        )
    rows = [
        Holiday(
            institute_id=institute_id, date=day, name=name, batch_id=b, created_by=actor.user_id
        )
        for b in wanted
    ]
    try:
        with session.begin_nested():
            session.add_all(rows)
            session.flush()
    except IntegrityError as exc:  # the same holiday entered at the same moment elsewhere
        raise Conflict(f"{day:%a %d %b} is already a holiday.") from exc
    query = (
        select(ClassSession, Batch)
        .join(Batch, col(Batch.id) == col(ClassSession.batch_id))
        .where(
            ClassSession.institute_id == institute_id,
            ClassSession.date == day,
            col(ClassSession.status).in_(NOT_TAKEN),
        )
    )
    if wanted != [None]:
        query = query.where(col(ClassSession.batch_id).in_([b for b in wanted if b]))
    taken = _with_marks(session, institute_id, day)
    cancelled = []
    for row, batch in session.exec(query.order_by(col(ClassSession.starts_at))).all():
        if row.id in taken:
            continue  # held (marks saved, sheet not yet submitted): it stays
        _take_out(
            session, actor, row, batch, status=SessionStatus.CANCELLED, reason=f"Holiday: {name}"
        )
        cancelled.append(row.id)
    audit.on(
        session,
        actor,
        "holiday.add",
        rows[0].id,
        {
            "date": str(day),
            "name": name,
            "batch_ids": [b for b in wanted if b],
            "cancelled_sessions": cancelled,
        },
    )
    return rows


def remove_holiday(session: Session, *, actor: Actor, holiday_id: int) -> Holiday:
    """Admin: remove a holiday. The classes it cancelled that have not started yet are back on
    (their students and guardians told), unless another holiday still covers them; classes
    not created yet are created again by the daily job. A class whose time has passed stays
    cancelled: it was not held."""
    actor.require(Role.ADMIN)
    row = get_owned(session, Holiday, actor, holiday_id, "holiday")
    session.delete(row)
    session.flush()
    restored = _restore_after_holiday(session, row)
    detail = {
        "date": str(row.date),
        "name": row.name,
        "batch_id": row.batch_id,
        "restored_sessions": restored,
    }
    audit.on(session, actor, "holiday.remove", holiday_id, detail)
    return row


def _restore_after_holiday(session: Session, holiday: Holiday) -> list[int | None]:
    """Put back on the future classes `holiday` cancelled (and no other holiday covers; those
    are handed to the holiday that still covers them)."""
    query = (
        select(ClassSession, Batch)
        .join(Batch, col(Batch.id) == col(ClassSession.batch_id))
        .where(
            ClassSession.institute_id == holiday.institute_id,
            ClassSession.date == holiday.date,
            ClassSession.status == SessionStatus.CANCELLED.value,
            ClassSession.cancel_reason == f"Holiday: {holiday.name}",
            col(ClassSession.starts_at) > clock.now(),
        )
    )
    if holiday.batch_id is not None:
        query = query.where(ClassSession.batch_id == holiday.batch_id)
    still = holiday_map_internal(
        session, institute_id=holiday.institute_id, start=holiday.date, end=holiday.date
    )
    tz = ZoneInfo(_timezone(session, holiday.institute_id))
    restored: list[int | None] = []
    for row, batch in session.exec(query.order_by(col(ClassSession.starts_at))).all():
        if is_holiday(still, row.date, row.batch_id):
            # Still off for another holiday: it now answers for the class, so removing that
            # one later puts the class back on.
            other = holiday_name_internal(
                session, institute_id=row.institute_id, day=row.date, batch_id=row.batch_id
            )
            row.cancel_reason = f"Holiday: {other}"
            session.add(row)
            continue
        row.status, row.cancel_reason, row.version = (
            SessionStatus.SCHEDULED.value,
            None,
            row.version + 1,
        )
        session.add(row)
        when = _local(row.starts_at, tz)
        tell_class_internal(
            session,
            row=row,
            batch=batch,
            text=(
                f"{batch.name} on {when:%a %d %b at %H:%M} is back on: {holiday.name} is no "
                "longer a holiday."
            ),
            subject=f"Class back on: {batch.name}",
            key=f"session_restored:{row.id}:{holiday.id}",
        )
        restored.append(row.id)
    session.flush()
    return restored


def _with_marks(session: Session, institute_id: int, day: date) -> set[int]:
    """The sessions of a day that have attendance marks."""
    return set(
        session.exec(
            select(AttendanceRecord.session_id)
            .join(ClassSession, col(ClassSession.id) == col(AttendanceRecord.session_id))
            .where(
                AttendanceRecord.institute_id == institute_id,
                ClassSession.institute_id == institute_id,
                ClassSession.date == day,
            )
            .distinct()
        )
    )


# ------------------------------------------------------------------ one class


def cancel_session(session: Session, *, actor: Actor, session_id: int, reason: str) -> ClassSession:
    """Cancel one class that was not held (admin, or the batch's teacher), with a reason its
    students and guardians are told."""
    actor.require(Role.ADMIN, Role.TEACHER)
    row, batch = _own_class(session, actor, session_id)
    reason = _reason(reason)
    _take_out(session, actor, row, batch, status=SessionStatus.CANCELLED, reason=reason)
    audit.on(
        session,
        actor,
        "session.cancel",
        row.id,
        {"batch_id": batch.id, "date": str(row.date), "reason": reason},
        target_type="class_session",
    )
    return row


def reschedule_session(
    session: Session,
    *,
    actor: Actor,
    session_id: int,
    day: date,
    start_time: time,
    reason: str,
    duration_minutes: int | None = None,
) -> ClassSession:
    """Move one class that was not held to another date and time (same batch; admin, or the
    batch's teacher): the new class is created, the old one marked rescheduled with a link to
    it, and students and guardians told. Returns the new class."""
    actor.require(Role.ADMIN, Role.TEACHER)
    row, batch = _own_class(session, actor, session_id)
    reason = _reason(reason)
    minutes = duration_minutes or int(
        (aware_utc(row.ends_at) - aware_utc(row.starts_at)).total_seconds() // 60
    )
    _check_not_taken(session, row)
    moved = new_session_internal(
        session, batch=batch, day=day, start_time=start_time, duration_minutes=minutes
    )
    _take_out(
        session, actor, row, batch, status=SessionStatus.RESCHEDULED, reason=reason, moved_to=moved
    )
    audit.on(
        session,
        actor,
        "session.reschedule",
        row.id,
        {
            "batch_id": batch.id,
            "from": aware_utc(row.starts_at).isoformat(),
            "to": aware_utc(moved.starts_at).isoformat(),
            "new_session_id": moved.id,
            "reason": reason,
        },
        target_type="class_session",
    )
    return moved


def _own_class(session: Session, actor: Actor, session_id: int) -> tuple[ClassSession, Batch]:
    row = get_owned(session, ClassSession, actor, session_id, "class session")
    batch = academics.taught_batch(session, actor=actor, batch_id=row.batch_id)
    return row, batch


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Give a reason (students and guardians are told it).", field="reason")
    if len(reason) > 500:
        raise ValidationError("A reason has at most 500 characters.", field="reason")
    return reason


def _check_not_taken(session: Session, row: ClassSession) -> None:
    status = live_status(row)
    if status == SessionStatus.CANCELLED.value:
        raise ValidationError("This class is already cancelled.")
    if status == SessionStatus.RESCHEDULED.value:
        raise ValidationError("This class was already moved.")
    if row.status not in NOT_TAKEN:
        raise ValidationError(HELD)
    if session.exec(
        select(AttendanceRecord.id).where(
            AttendanceRecord.institute_id == row.institute_id,
            AttendanceRecord.session_id == row.id,
        )
    ).first():
        raise ValidationError(HELD)


def _take_out(
    session: Session,
    actor: Actor,
    row: ClassSession,
    batch: Batch,
    *,
    status: SessionStatus,
    reason: str,
    moved_to: ClassSession | None = None,
) -> None:
    """Mark a class not held with a conditional UPDATE on its version: a sheet submitted at the
    same moment (which bumps the version) makes exactly one of the two win. Then tell its
    students and guardians and close its missed-class action."""
    _check_not_taken(session, row)
    won = cast(
        "CursorResult[Any]",
        session.execute(
            update(ClassSession)
            .where(
                col(ClassSession.id) == row.id,
                col(ClassSession.version) == row.version,
                col(ClassSession.status).in_(NOT_TAKEN),
            )
            .values(
                status=status.value,
                cancel_reason=reason,
                rescheduled_to_id=moved_to.id if moved_to else None,
                version=row.version + 1,
            ),
        ),
    ).rowcount
    if won != 1:
        raise Conflict("Attendance was submitted for this class a moment ago. Reload the page.")
    session.refresh(row)
    tz = ZoneInfo(_timezone(session, row.institute_id))
    when = _local(row.starts_at, tz)
    if moved_to is None:
        text = f"{batch.name} on {when:%a %d %b at %H:%M} is cancelled. Reason: {reason}"
        kind, subject = "session_cancelled", f"Class cancelled: {batch.name}"
    else:
        new = _local(moved_to.starts_at, tz)
        text = (
            f"{batch.name} on {when:%a %d %b at %H:%M} is moved to {new:%a %d %b at %H:%M}. "
            f"Reason: {reason}"
        )
        kind, subject = "session_rescheduled", f"Class moved: {batch.name}"
    tell_class_internal(
        session, row=row, batch=batch, text=text, subject=subject, key=f"{kind}:{row.id}"
    )
    inbox.resolve_by_key(
        session, actor=actor, dedupe_key=f"missed_session:{row.id}", note=f"Not held: {reason}"
    )


def tell_class_internal(
    session: Session, *, row: ClassSession, batch: Batch, text: str, subject: str, key: str
) -> int:
    """One message to each student of a class (in the app) and each of their guardians with a
    Telegram chat; the dedupe keys (`key` + who) make a retry queue nothing twice."""
    students = academics.members_on_internal(
        session, institute_id=row.institute_id, batch_id=row.batch_id, day=row.date
    )
    messages: list[dict[str, Any]] = [
        {
            "channel": "in_app",
            "recipient": str(s.user_id),
            "recipient_user_id": s.user_id,
            "subject": subject,
            "text": text,
            "dedupe_key": f"{key}:student:{s.id}",
        }
        for s in students
        if s.user_id
    ]
    ids = [s.id for s in students]
    for start in range(0, len(ids), 900):
        messages += [
            {
                "channel": "telegram",
                "recipient": chat,
                "text": text,
                "dedupe_key": f"{key}:guardian:{gid}",
            }
            for gid, chat in session.exec(
                select(Guardian.id, Guardian.telegram_chat_id).where(
                    Guardian.institute_id == row.institute_id,
                    col(Guardian.student_id).in_(ids[start : start + 900]),
                    col(Guardian.telegram_chat_id).is_not(None),
                )
            ).all()
        ]
    return notify.enqueue_many_internal(session, institute_id=row.institute_id, messages=messages)


def _timezone(session: Session, institute_id: int) -> str:
    institute = session.get(Institute, institute_id)
    return institute.timezone if institute else "UTC"


def _local(moment: datetime, tz: ZoneInfo) -> datetime:
    return aware_utc(moment).astimezone(tz)
