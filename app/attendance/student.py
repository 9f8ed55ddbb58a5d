"""A student's own classes, attendance and calendar file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, true
from sqlmodel import Session, col, select

from app.academics import service as academics
from app.academics.models import (
    Batch,
    BatchMembership,
    BatchSchedule,
    Subject,
)
from app.attendance.common import aware_utc, occurrences, weekly_slots_internal
from app.attendance.holidays import holiday_map_internal, is_holiday
from app.attendance.lifecycle import live_status
from app.attendance.models import (
    NOT_HELD,
    AttendanceRecord,
    ClassSession,
    Mark,
)
from app.core import clock
from app.core.errors import ValidationError
from app.core.rows import carry
from app.core.tenancy import Actor
from app.identity.models import Institute, User


@dataclass(frozen=True)
class ClassSlot:
    """A class of a batch: a session that exists, or (session_id None) one the weekly schedule
    plans that the worker has not created yet."""

    session_id: int | None
    batch_id: int
    date: date
    starts_at: datetime
    ends_at: datetime
    status: str  # a session's live status, or "planned"
    cancel_reason: str | None = None  # why a cancelled or moved class is not held
    moved_to: datetime | None = None  # a moved class's new start (UTC)

    @property
    def held(self) -> bool:
        return self.status not in NOT_HELD


PLANNED = "planned"


def classes_between_internal(
    session: Session, *, institute_id: int, batch_ids: set[int], start: date, end: date, tz: str
) -> list[ClassSlot]:
    """The classes of some batches between two local dates, by start: the sessions that exist,
    plus, from today on, the weekly schedule's classes not created yet (none on a holiday).
    Three queries (a fourth for where moved classes went)."""
    if not batch_ids or end < start:
        return []
    zone = ZoneInfo(tz)
    now = clock.now()
    rows = session.exec(
        select(ClassSession).where(
            ClassSession.institute_id == institute_id,
            col(ClassSession.batch_id).in_(batch_ids),
            ClassSession.date >= start,
            ClassSession.date <= end,
        )
    ).all()
    moved = [r.rescheduled_to_id for r in rows if r.rescheduled_to_id is not None]
    moved_to = (
        dict(
            session.exec(
                select(ClassSession.id, ClassSession.starts_at).where(
                    ClassSession.institute_id == institute_id, col(ClassSession.id).in_(moved)
                )
            ).all()
        )
        if moved
        else {}
    )
    slots = [
        carry(
            ClassSlot,
            r,
            session_id=r.id,
            starts_at=aware_utc(r.starts_at),
            ends_at=aware_utc(r.ends_at),
            status=live_status(r, now),
            moved_to=aware_utc(moved_to[r.rescheduled_to_id])
            if r.rescheduled_to_id in moved_to
            else None,
        )
        for r in rows
    ]
    first = max(start, now.astimezone(zone).date())
    if first <= end:
        taken = {(s.batch_id, s.starts_at) for s in slots}
        weekly = weekly_slots_internal(
            session, institute_id, col(BatchSchedule.batch_id).in_(batch_ids)
        )
        holidays = holiday_map_internal(session, institute_id=institute_id, start=first, end=end)
        for slot, day, starts, ends in occurrences(weekly, first, end, zone):
            if (slot.batch_id, starts) not in taken and not is_holiday(
                holidays, day, slot.batch_id
            ):
                slots.append(
                    ClassSlot(
                        session_id=None,
                        batch_id=slot.batch_id,
                        date=day,
                        starts_at=starts,
                        ends_at=ends,
                        status=PLANNED,
                    )
                )
    return sorted(slots, key=lambda s: (s.starts_at, s.batch_id))


@dataclass(frozen=True)
class MyClass:
    """One of the signed-in student's classes, with their own attendance mark once taken."""

    session_id: int | None
    batch_id: int
    batch: str
    subject: str
    teacher: str | None
    date: date
    starts_at: datetime
    ends_at: datetime
    status: str
    mark: str | None
    cancel_reason: str | None = None
    moved_to: datetime | None = None  # a moved class's new start (UTC)

    @property
    def held(self) -> bool:
        """False for a cancelled or moved class (the reason says why)."""
        return self.status not in NOT_HELD

    @property
    def uid(self) -> str:
        """Stable across the planned → created change (a batch has one class per start time)."""
        return f"class-{self.batch_id}-{self.starts_at:%Y%m%dT%H%M%SZ}@cohort"


def _institute_tz(session: Session, institute_id: int) -> str:
    return session.get(Institute, institute_id).timezone


def my_sessions(session: Session, *, actor: Actor, start: date, end: date) -> list[MyClass]:
    """The signed-in student's classes between two dates (institute time), held and planned,
    only while they were in the batch, each with their attendance mark."""
    student = academics.my_student(session, actor=actor)
    institute_id = student.institute_id
    if end < start:
        raise ValidationError("The period ends before it starts.")
    if (end - start).days > 400:
        raise ValidationError("Choose a period of at most 400 days.")
    periods = session.exec(
        select(
            BatchMembership.batch_id,
            BatchMembership.joined_on,
            BatchMembership.left_on,
            Batch.name,
            Subject.name,
            User.name,
        )
        .join(Batch, Batch.id == BatchMembership.batch_id)
        .join(Subject, Subject.id == Batch.subject_id)
        .outerjoin(User, User.id == Batch.teacher_user_id)
        .where(
            BatchMembership.institute_id == institute_id,
            BatchMembership.student_id == student.id,
            BatchMembership.joined_on <= end,
            (col(BatchMembership.left_on).is_(None)) | (BatchMembership.left_on > start),
        )
    ).all()
    if not periods:
        return []
    names = {b: (bn, sn, tn) for b, _j, _l, bn, sn, tn in periods}

    def member(batch_id: int, day: date) -> bool:
        return any(
            b == batch_id and joined <= day and (left is None or left > day)
            for b, joined, left, *_ in periods
        )

    slots = [
        s
        for s in classes_between_internal(
            session,
            institute_id=institute_id,
            batch_ids=set(names),
            start=start,
            end=end,
            tz=_institute_tz(session, institute_id),
        )
        if member(s.batch_id, s.date)
    ]
    held = [s.session_id for s in slots if s.session_id is not None]
    marks: dict[int, str] = {}
    for i in range(0, len(held), 900):
        marks.update(
            session.exec(
                select(AttendanceRecord.session_id, AttendanceRecord.status).where(
                    AttendanceRecord.institute_id == institute_id,
                    AttendanceRecord.student_id == student.id,
                    col(AttendanceRecord.session_id).in_(held[i : i + 900]),
                )
            ).all()
        )
    return [
        carry(
            MyClass,
            s,
            batch=names[s.batch_id][0],
            subject=names[s.batch_id][1],
            teacher=names[s.batch_id][2],
            mark=marks.get(s.session_id) if s.session_id is not None else None,
        )
        for s in slots
    ]


def my_calendar_ics(session: Session, *, actor: Actor, start: date, end: date) -> bytes:
    """The signed-in student's classes between two dates as an iCalendar (.ics) file that any
    calendar app imports: one event per class, times in UTC, the batch as the location."""
    return calendar_ics(my_sessions(session, actor=actor, start=start, end=end))


def calendar_ics(classes: list[MyClass]) -> bytes:
    """Classes already read (my_sessions) as an iCalendar file (RFC 5545, by `icalendar`:
    escaping, folding and line endings are the library's)."""
    import icalendar

    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Cohort//Student schedule//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "My classes")
    stamp = clock.now().astimezone(UTC)
    for c in classes:
        event = icalendar.Event()
        event.add("uid", c.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", c.starts_at.astimezone(UTC))
        event.add("dtend", c.ends_at.astimezone(UTC))
        event.add("summary", f"{c.subject} ({c.batch})")
        event.add("location", c.batch)
        event.add("description", f"Batch {c.batch}" + (f" with {c.teacher}" if c.teacher else ""))
        # A calendar app strikes a cancelled (or moved) class through instead of keeping it.
        event.add("status", "CONFIRMED" if c.held else "CANCELLED")
        calendar.add_component(event)
    return calendar.to_ical()


@dataclass(frozen=True)
class AttendanceTally:
    sessions: int = 0  # classes taken with the student on the sheet
    present: int = 0
    late: int = 0
    absent: int = 0  # no-shows included: they count as absences
    excused: int = 0

    @property
    def percent(self) -> float | None:
        """Classes attended (present or late) out of those not excused."""
        counted = self.sessions - self.excused
        return round(100 * (self.present + self.late) / counted, 1) if counted else None


def _tally(counts: dict[str, int]) -> AttendanceTally:
    return AttendanceTally(
        sessions=sum(counts.values()),
        present=counts.get(Mark.PRESENT.value, 0),
        late=counts.get(Mark.LATE.value, 0),
        absent=counts.get(Mark.ABSENT.value, 0) + counts.get(Mark.NO_SHOW.value, 0),
        excused=counts.get(Mark.EXCUSED.value, 0),
    )


@dataclass(frozen=True)
class MyMark:
    date: date
    starts_at: datetime
    batch: str
    subject: str
    status: str


@dataclass(frozen=True)
class MyAttendance:
    since: date | None
    overall: AttendanceTally
    by_batch: list[tuple[str, AttendanceTally]]
    recent: list[MyMark]


def my_attendance(
    session: Session, *, actor: Actor, since: date | None = None, recent: int = 60
) -> MyAttendance:
    """The signed-in student's attendance: overall and per batch (since a date, or ever) and
    their latest marks. Three queries: the student's record, then two grouped, indexed ones."""
    return academics.for_my_student(
        session, actor, attendance_of_internal, since=since, recent=recent
    )


def attendance_of_internal(
    session: Session,
    *,
    institute_id: int,
    student_id: int | None,
    since: date | None = None,
    recent: int = 60,
) -> MyAttendance:
    """One student's attendance as `my_attendance` shows it (for a guardian's question on
    Telegram, once the caller has proven who the guardian is)."""
    scope: list[Any] = [
        AttendanceRecord.institute_id == institute_id,
        AttendanceRecord.student_id == student_id,
        col(ClassSession.status).not_in(NOT_HELD),  # a class not held never counts
    ]
    if since is not None:
        scope.append(ClassSession.date >= since)
    per_batch: dict[str, dict[str, int]] = {}
    overall: dict[str, int] = {}
    for batch, status, n in session.exec(
        select(Batch.name, AttendanceRecord.status, func.count())
        .join(ClassSession, ClassSession.id == AttendanceRecord.session_id)
        .join(Batch, Batch.id == ClassSession.batch_id)
        .where(*scope)
        .group_by(Batch.name, AttendanceRecord.status)
    ).all():
        per_batch.setdefault(batch, {})[status] = int(n)
        overall[status] = overall.get(status, 0) + int(n)
    lines: list[MyMark] = []
    if recent:
        lines = [
            MyMark(date=day, starts_at=aware_utc(starts), batch=b, subject=s, status=status)
            for day, starts, b, s, status in session.exec(
                select(
                    ClassSession.date,
                    ClassSession.starts_at,
                    Batch.name,
                    Subject.name,
                    AttendanceRecord.status,
                )
                .join(ClassSession, ClassSession.id == AttendanceRecord.session_id)
                .join(Batch, Batch.id == ClassSession.batch_id)
                .join(Subject, Subject.id == Batch.subject_id)
                .where(*scope)
                .order_by(col(ClassSession.starts_at).desc())
                .limit(recent)
            ).all()
        ]
    return MyAttendance(
        since=since,
        overall=_tally(overall),
        by_batch=sorted((b, _tally(c)) for b, c in per_batch.items()),
        recent=lines,
    )


def session_mark_counts() -> tuple[Any, Any]:
    """SQL for reports over many sessions: per class session (correlated), its present-or-late
    marks and the marks that count (excused left out). Summing these over the sessions of a
    range probes the (institute, session) index once per session, where a join lets
    PostgreSQL pick a scan of every mark the institute ever took."""
    mine = (AttendanceRecord.institute_id == ClassSession.institute_id) & (
        AttendanceRecord.session_id == ClassSession.id
    )
    present = (
        select(func.count())
        .where(mine, col(AttendanceRecord.status).in_((Mark.PRESENT.value, Mark.LATE.value)))
        .correlate(ClassSession)
        .scalar_subquery()
    )
    counted = (
        select(func.count())
        .where(mine, AttendanceRecord.status != Mark.EXCUSED.value)
        .correlate(ClassSession)
        .scalar_subquery()
    )
    return present, counted


def mark_sums(session: Session) -> tuple[Any, Any, Callable[[Any], Any]]:
    """For a report grouped over class sessions: SUM(present-or-late marks), SUM(marks that
    count) and a function that adds what they need to a select over ClassSession.

    On PostgreSQL one LATERAL probe per session counts both (with FILTER), twice as fast as
    the two correlated subqueries SQLite (which has no LATERAL) keeps using."""
    if session.get_bind().dialect.name != "postgresql":
        present, counted = session_mark_counts()
        return func.sum(present), func.sum(counted), lambda query: query
    counts = (
        select(
            func.count()
            .filter(col(AttendanceRecord.status).in_((Mark.PRESENT.value, Mark.LATE.value)))
            .label("present"),
            func.count()
            .filter(col(AttendanceRecord.status) != Mark.EXCUSED.value)
            .label("counted"),
        )
        .where(
            AttendanceRecord.institute_id == ClassSession.institute_id,
            AttendanceRecord.session_id == ClassSession.id,
        )
        .correlate(ClassSession)
        .lateral("session_marks")
    )
    return (
        func.sum(counts.c.present),
        func.sum(counts.c.counted),
        lambda query: query.join(counts, true()),
    )
