"""Today's classes and the attendance sheet: reading it, submitting it once, and the one-time links that open it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, update
from sqlmodel import Session, col, select

from app.academics import service as academics
from app.academics.models import (
    Batch,
    BatchType,
    Student,
    Subject,
    Topic,
)
from app.attendance.common import (
    LINK_EXPIRED,
    LINK_INVALID,
    LINK_SUBSCRIPTION,
    LINK_USED,
    WINDOW_CLOSED,
    aware_utc,
)
from app.attendance.lifecycle import NOT_HELD_MESSAGE, class_in_scope, live_status
from app.attendance.models import (
    ABSENT_MARKS,
    NOT_HELD,
    AttendanceLink,
    AttendanceRecord,
    ClassSession,
    Mark,
    SessionStatus,
)
from app.attendance.notices import excused_in_advance_internal
from app.attendance.pipeline import post_class_pipeline
from app.core import audit, clock, weburl
from app.core.config import get_settings
from app.core.errors import Conflict, PermissionDenied, ValidationError
from app.core.roles import Role
from app.core.rows import carry
from app.core.security import new_token, token_hash
from app.core.tenancy import Actor
from app.identity.models import Institute, User, UserStatus


@dataclass(frozen=True)
class SessionCard:
    id: int
    batch: str
    subject: str
    teacher: str | None
    starts_at: datetime
    ends_at: datetime
    status: str
    students: int
    marked: int
    cancel_reason: str | None = None  # why a cancelled or moved class is not held
    moved_to: datetime | None = None  # where a rescheduled class went (UTC)
    # What the teacher noted at the batch's last class (to prepare this one), and its day.
    last_notes: str | None = None
    last_notes_on: date | None = None

    @property
    def held(self) -> bool:
        """False for a cancelled or moved class: it has no sheet."""
        return self.status not in NOT_HELD


def sessions_for_day(session: Session, *, actor: Actor, day: date) -> list[SessionCard]:
    """A day's sessions (teacher: their batches; admin: all), with the live status."""
    actor.require(Role.ADMIN, Role.TEACHER)
    institute_id = actor.institute_scope()

    days_sessions = select(ClassSession.id).where(
        ClassSession.institute_id == institute_id, ClassSession.date == day
    )
    marked = (
        select(AttendanceRecord.session_id, func.count().label("n"))
        .where(
            AttendanceRecord.institute_id == institute_id,
            col(AttendanceRecord.session_id).in_(days_sessions),
        )
        .group_by(AttendanceRecord.session_id)
        .subquery()
    )
    moved = (
        select(ClassSession.id, ClassSession.starts_at)
        .where(ClassSession.institute_id == institute_id)
        .subquery("moved")
    )
    query = (
        select(ClassSession, Batch.name, Subject.name, User.name, marked.c.n, moved.c.starts_at)
        .join(Batch, Batch.id == ClassSession.batch_id)
        .outerjoin(moved, moved.c.id == ClassSession.rescheduled_to_id)
        .join(Subject, Subject.id == Batch.subject_id)
        .outerjoin(User, User.id == Batch.teacher_user_id)
        .outerjoin(marked, marked.c.session_id == ClassSession.id)
        .where(ClassSession.institute_id == institute_id, ClassSession.date == day)
    )
    if actor.role == Role.TEACHER:
        query = query.where(Batch.teacher_user_id == actor.user_id)
    rows = session.exec(query.order_by(ClassSession.starts_at)).all()
    batch_sizes = academics.member_counts_on_internal(
        session, institute_id=institute_id, batch_ids={r.batch_id for r, *_ in rows}, day=day
    )
    last_notes = _last_notes(session, institute_id, {r.batch_id for r, *_ in rows}, before=day)
    now = clock.now()
    return [
        SessionCard(
            id=r.id,
            batch=b,
            subject=s,
            teacher=t,
            starts_at=aware_utc(r.starts_at),
            ends_at=aware_utc(r.ends_at),
            status=live_status(r, now),
            students=batch_sizes.get(r.batch_id, 0),
            marked=int(n or 0),
            cancel_reason=r.cancel_reason,
            moved_to=aware_utc(m) if m else None,
            last_notes=last_notes.get(r.batch_id, (None, None))[0],
            last_notes_on=last_notes.get(r.batch_id, (None, None))[1],
        )
        for r, b, s, t, n, m in rows
    ]


def _last_notes(
    session: Session, institute_id: int, batch_ids: set[int], *, before: date
) -> dict[int, tuple[str, date]]:
    """Per batch, the notes of its latest class before `before` that has notes, and its day: in
    one query whatever the number of batches."""
    if not batch_ids:
        return {}
    ranked = (
        select(
            col(ClassSession.batch_id),
            col(ClassSession.notes),
            col(ClassSession.date),
            func.row_number()
            .over(
                partition_by=col(ClassSession.batch_id),
                order_by=col(ClassSession.starts_at).desc(),
            )
            .label("rn"),
        )
        .where(
            ClassSession.institute_id == institute_id,
            col(ClassSession.batch_id).in_(batch_ids),
            ClassSession.date < before,
            col(ClassSession.notes).is_not(None),
            col(ClassSession.status).in_(
                (SessionStatus.SUBMITTED.value, SessionStatus.CLOSED.value)
            ),
        )
        .subquery()
    )
    return {
        batch_id: (notes, day)
        for batch_id, notes, day in session.execute(
            select(ranked.c.batch_id, ranked.c.notes, ranked.c.date).where(ranked.c.rn == 1)
        )
    }


@dataclass
class Sheet:
    session_id: int
    batch_id: int
    batch: str
    subject_id: int
    date: date
    starts_at: datetime
    status: str
    version: int
    students: list[Student]
    marks: dict[int, str] = field(default_factory=dict)  # saved marks; empty when not yet taken
    understanding: dict[int, int] = field(default_factory=dict)
    student_notes: dict[int, str] = field(default_factory=dict)  # a line about one student
    topics: list[Topic] = field(default_factory=list)
    suggested: list[int] = field(default_factory=list)
    covered: list[int] = field(default_factory=list)
    notes: str | None = None
    submitted_by: str | None = None
    submitted_at: datetime | None = None
    cancel_reason: str | None = None
    one_to_one: bool = False  # a no-show can be marked

    @property
    def held(self) -> bool:
        return self.status not in NOT_HELD

    @property
    def mark_choices(self) -> list[str]:
        """The marks this sheet offers: no-show only for one-to-one sessions."""
        return [m.value for m in Mark if self.one_to_one or m != Mark.NO_SHOW]

    @property
    def taken(self) -> bool:
        return bool(self.marks)

    @property
    def accepts_marks(self) -> bool:
        return self.status in (SessionStatus.SCHEDULED.value, SessionStatus.OPEN.value)


def attendance_sheet(session: Session, *, actor: Actor, session_id: int) -> Sheet:
    """Everything the sheet shows: students (preset present), saved marks, syllabus, suggestions."""
    actor.require(Role.ADMIN, Role.TEACHER)
    row = class_in_scope(session, actor, session_id)
    batch = session.get(Batch, row.batch_id)
    academics.ensure_teacher_scope(session, actor=actor, batch=batch)
    return _sheet(session, row, batch)


def _sheet(session: Session, row: ClassSession, batch: Batch) -> Sheet:
    students = academics.members_on_internal(
        session, institute_id=row.institute_id, batch_id=batch.id, day=row.date
    )
    records = session.exec(
        select(AttendanceRecord).where(
            AttendanceRecord.institute_id == row.institute_id, AttendanceRecord.session_id == row.id
        )
    ).all()
    syllabus = list(
        session.exec(
            select(Topic)
            .where(Topic.institute_id == row.institute_id, Topic.subject_id == batch.subject_id)
            .order_by(col(Topic.position), col(Topic.id))
        )
    )
    # Archived topics are no longer offered, except those this class already covered.
    covered_here = set(row.topics_covered or [])
    topics = [t for t in syllabus if t.archived_at is None or t.id in covered_here]
    taught: set[int] = set()
    for covered in session.exec(
        select(ClassSession.topics_covered).where(
            ClassSession.institute_id == row.institute_id,
            ClassSession.batch_id == batch.id,
            col(ClassSession.topics_covered).is_not(None),
            ClassSession.id != row.id,
        )
    ):
        taught.update(covered or [])
    suggested = _suggest_topics(syllabus, taught)
    submitter = session.get(User, row.submitted_by) if row.submitted_by else None
    told_away = excused_in_advance_internal(
        session, institute_id=row.institute_id, session_id=row.id
    )
    return carry(
        Sheet,
        row,
        session_id=row.id,
        batch_id=batch.id,
        batch=batch.name,
        subject_id=batch.subject_id,
        starts_at=aware_utc(row.starts_at),
        status=live_status(row),
        students=students,
        marks={s: Mark.EXCUSED.value for s in told_away}
        | {r.student_id: r.status for r in records},
        understanding={r.student_id: r.understanding for r in records if r.understanding},
        student_notes={s: "Guardian said absent" for s in told_away}
        | {r.student_id: r.note for r in records if r.note},
        topics=topics,
        suggested=suggested,
        covered=list(row.topics_covered or []),
        submitted_by=submitter.name if submitter else None,
        submitted_at=aware_utc(row.submitted_at) if row.submitted_at else None,
        one_to_one=batch.type == BatchType.INDIVIDUAL.value,
    )


def _suggest_topics(syllabus: list[Topic], taught: set[int], limit: int = 2) -> list[int]:
    """The next topics for a batch: in syllabus order, not yet taught, not archived, and whose
    prerequisites the batch has covered (an archived prerequisite no longer holds anyone back)."""
    archived = {t.id for t in syllabus if t.archived_at is not None}
    ready = [
        t.id
        for t in syllabus
        if t.id is not None
        and t.id not in taught
        and t.archived_at is None
        and all(p in taught or p in archived for p in (t.prerequisites or []))
    ]
    return ready[:limit]


STUDENT_NOTE_MAX = 500  # the column's size


def submit_attendance(
    session: Session,
    *,
    actor: Actor,
    session_id: int,
    marks: dict[int, str],
    expected_version: int,
    topics: list[int] | None = None,
    understanding: dict[int, int] | None = None,
    notes: str | None = None,
    link_token: str | None = None,
    student_notes: dict[int, str] | None = None,
) -> ClassSession:
    """Save a sheet (students not listed are present) and run the post-class pipeline once.
    `student_notes` keeps a line about a student on their mark ("left early for a doctor")."""
    actor.require(Role.ADMIN, Role.TEACHER)
    row = class_in_scope(session, actor, session_id)
    batch = session.get(Batch, row.batch_id)
    assert batch is not None  # a session's batch exists (foreign key)
    link = _check_can_submit(session, actor, row, batch, expected_version, link_token)
    students = {
        s.id: s
        for s in academics.members_on_internal(
            session, institute_id=row.institute_id, batch_id=batch.id, day=row.date
        )
    }
    clean = _clean_marks(marks, students, one_to_one=batch.type == BatchType.INDIVIDUAL.value)
    said = _clean_student_notes(student_notes, students)
    ratings = {k: int(v) for k, v in (understanding or {}).items() if v}
    if any(not 1 <= v <= 5 for v in ratings.values()):
        raise ValidationError("Understanding is rated 1 to 5.")
    topic_ids = _check_topics(session, row, batch, topics)
    now = clock.now()
    won = session.execute(
        update(ClassSession)
        .where(ClassSession.id == row.id, ClassSession.version == expected_version)
        .values(
            version=expected_version + 1,
            status=SessionStatus.SUBMITTED.value,
            submitted_by=actor.user_id,
            submitted_at=now,
            topics_covered=topic_ids or None,
            notes=(notes or "").strip() or None,
        )
    ).rowcount
    if won != 1:
        raise Conflict("Someone else submitted this sheet a moment ago. Reload to see their marks.")
    session.refresh(row)
    _write_marks(session, row, clean, ratings, said)
    if link is not None:
        link.used_at = now
        session.add(link)
    session.flush()
    audit.on(
        session,
        actor,
        "attendance.submit",
        row.id,
        {
            "absent": sum(1 for m in clean.values() if m in ABSENT_MARKS),
            "students": len(clean),
            "student_notes": len(said),
            "resubmission": expected_version != 0,
            "via_link": link is not None,
        },
        target_type="class_session",
    )
    post_class_pipeline(
        session, row=row, batch=batch, marks=clean, ratings=ratings, topic_ids=topic_ids
    )
    return row


def _check_can_submit(
    session: Session,
    actor: Actor,
    row: ClassSession,
    batch: Batch,
    expected_version: int,
    link_token: str | None,
) -> AttendanceLink | None:
    """Refuse a sheet that may not be submitted now by this person (or link); returns the link."""
    link = None
    if link_token:
        link = _valid_link(session, row, link_token)
    else:
        academics.ensure_teacher_scope(session, actor=actor, batch=batch)
    status = live_status(row)
    if status in NOT_HELD:
        raise ValidationError(NOT_HELD_MESSAGE)
    if status in (SessionStatus.CLOSED.value, SessionStatus.MISSED.value):
        raise ValidationError(WINDOW_CLOSED)
    if row.status == SessionStatus.SUBMITTED.value and actor.role != Role.ADMIN:
        raise Conflict(_already(session, row))
    if row.version != expected_version:
        raise Conflict(_already(session, row) + " Reload to see the saved marks.")
    return link


def _clean_marks(
    marks: dict[int, str], students: dict[int, Any], *, one_to_one: bool
) -> dict[int, str]:
    """Every student of the class with a valid mark (present unless listed)."""
    if set(marks) - set(students):
        raise ValidationError("Some marked students are not in this batch on this date.")
    clean: dict[int, str] = {}
    for student_id in students:
        mark = marks.get(student_id, Mark.PRESENT.value)
        try:
            clean[student_id] = Mark(mark).value
        except ValueError as exc:
            raise ValidationError(
                f"'{mark}' is not a mark; use present, absent, late or excused."
            ) from exc
        if mark == Mark.NO_SHOW.value and not one_to_one:
            raise ValidationError("A no-show is marked only in one-to-one sessions.")
    return clean


def _clean_student_notes(notes: dict[int, str] | None, students: dict[int, Any]) -> dict[int, str]:
    """The notes about students of the class, trimmed, none empty or too long."""
    said = {k: (v or "").strip() for k, v in (notes or {}).items()}
    if set(said) - set(students):
        raise ValidationError("Some noted students are not in this batch on this date.")
    if any(len(v) > STUDENT_NOTE_MAX for v in said.values()):
        raise ValidationError(
            f"A note about a student is at most {STUDENT_NOTE_MAX} characters; shorten it."
        )
    return {k: v for k, v in said.items() if v}


def _check_topics(
    session: Session, row: ClassSession, batch: Batch, topics: list[int] | None
) -> list[int]:
    """The topics covered, each of the batch's syllabus (archived only if already covered)."""
    topic_ids = list(dict.fromkeys(topics or []))
    if topic_ids:
        valid = set(
            session.exec(
                select(Topic.id).where(
                    Topic.institute_id == row.institute_id,
                    Topic.subject_id == batch.subject_id,
                    col(Topic.id).in_(topic_ids),
                    col(Topic.archived_at).is_(None) | col(Topic.id).in_(row.topics_covered or []),
                )
            )
        )
        if set(topic_ids) - valid:
            raise ValidationError("Choose topics from this batch's syllabus.")
    return topic_ids


def _write_marks(
    session: Session,
    row: ClassSession,
    clean: dict[int, str],
    ratings: dict[int, int],
    said: dict[int, str],
) -> None:
    """Insert the new marks in one statement; change only the saved ones that differ."""
    existing = {
        r.student_id: r
        for r in session.exec(
            select(AttendanceRecord).where(
                AttendanceRecord.institute_id == row.institute_id,
                AttendanceRecord.session_id == row.id,
            )
        )
    }
    new_rows = []
    for student_id, mark in clean.items():
        record = existing.get(student_id)
        if record is None:
            new_rows.append(
                {
                    "institute_id": row.institute_id,
                    "session_id": row.id,
                    "student_id": student_id,
                    "status": mark,
                    "understanding": ratings.get(student_id),
                    "note": said.get(student_id),
                }
            )
        elif (record.status, record.understanding, record.note) != (
            mark,
            ratings.get(student_id),
            said.get(student_id),
        ):
            record.status, record.understanding = mark, ratings.get(student_id)
            record.note = said.get(student_id)
            session.add(record)
    if new_rows:
        session.execute(insert(AttendanceRecord), new_rows)


def _already(session: Session, row: ClassSession) -> str:
    who = session.get(User, row.submitted_by) if row.submitted_by else None
    tz = ZoneInfo(session.get(Institute, row.institute_id).timezone)
    when = aware_utc(row.submitted_at).astimezone(tz).strftime("%H:%M") if row.submitted_at else "?"
    return f"Attendance was already submitted by {who.name if who else 'someone'} at {when}."


def create_link(session: Session, *, actor: Actor, session_id: int) -> str:
    """A one-time link to this session's sheet that works without signing in (for Telegram)."""
    actor.require(Role.ADMIN, Role.TEACHER)
    row = class_in_scope(session, actor, session_id)
    batch = session.get(Batch, row.batch_id)
    academics.ensure_teacher_scope(session, actor=actor, batch=batch)
    token = new_token()
    now = clock.now()
    session.add(
        AttendanceLink(
            institute_id=row.institute_id,
            session_id=row.id,
            token_hash=token_hash(token),
            created_for=batch.teacher_user_id or actor.user_id,
            created_at=now,
            expires_at=now + timedelta(hours=get_settings().ATTENDANCE_LINK_HOURS),
        )
    )
    session.flush()
    return token


def link_url(token: str) -> str:
    return f"{weburl.base_url()}/?attendance={token}"


def deliver_link(session: Session, link_id: int) -> str | None:
    """At delivery time (system context): a fresh token for a queued link, as a URL; None when
    the link was used, has expired or its institute's subscription has ended."""
    link = session.get(AttendanceLink, link_id)
    if link is None or link.used_at is not None or clock.now() >= aware_utc(link.expires_at):
        return None
    if _subscription_ended(session, link.institute_id):
        return None
    token = new_token()
    link.token_hash = token_hash(token)
    session.add(link)
    return link_url(token)


def _subscription_ended(session: Session, institute_id: int) -> bool:
    institute = session.get(Institute, institute_id)
    return institute is None or institute.subscription_expired(clock.today_in(institute.timezone))


def _valid_link(session: Session, row: ClassSession, token: str) -> AttendanceLink:
    link = session.exec(
        select(AttendanceLink).where(AttendanceLink.token_hash == token_hash(token))
    ).first()
    if link is None or link.session_id != row.id:
        raise PermissionDenied(LINK_INVALID)
    if link.used_at is not None:
        raise PermissionDenied(LINK_USED)
    if clock.now() >= aware_utc(link.expires_at):
        raise PermissionDenied(LINK_EXPIRED)
    if _subscription_ended(session, link.institute_id):
        raise PermissionDenied(LINK_SUBSCRIPTION)
    return link


def open_link(session: Session, *, token: str) -> tuple[Actor | None, Sheet | None, str | None]:
    """Resolve a link (system context): the actor it stands for and the sheet, or why not."""
    link = session.exec(
        select(AttendanceLink).where(AttendanceLink.token_hash == token_hash(token or ""))
    ).first()
    if link is None:
        return None, None, LINK_INVALID
    if link.used_at is not None:
        return None, None, LINK_USED
    if clock.now() >= aware_utc(link.expires_at):
        return None, None, LINK_EXPIRED
    if _subscription_ended(session, link.institute_id):
        return None, None, LINK_SUBSCRIPTION
    row = session.get(ClassSession, link.session_id)
    batch = session.get(Batch, row.batch_id)
    user = session.get(User, link.created_for) if link.created_for else None
    if user is None or user.status == UserStatus.DISABLED:
        return None, None, LINK_INVALID
    actor = Actor(
        user_id=user.id,
        role=Role(user.role),
        institute_id=row.institute_id,
        name=user.name,
        source="link",
    )
    return actor, _sheet(session, row, batch), None
