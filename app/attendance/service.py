"""Class sessions and attendance: generation from schedules, the lifecycle, the sheet, the submit.

Lifecycle: scheduled → open (ATTENDANCE_OPEN_BEFORE_MINUTES before the start) → submitted →
closed (class end + ATTENDANCE_AUTO_CLOSE_GRACE_MINUTES); a session nobody submitted by then
becomes missed and opens a `missed_session` action. Closed and missed sessions refuse marks
with "Attendance window closed for this class."; an admin can reopen one.

A submission bumps the session's version with a conditional UPDATE, so of two people submitting
the same sheet at once exactly one wins and the other is told who did. The post-class pipeline
runs in the same transaction, once per submission.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, update
from sqlmodel import Session, col, select

from app.academics import service as academics
from app.academics.models import (
    Batch,
    BatchMembership,
    BatchSchedule,
    Guardian,
    Student,
    Subject,
    Topic,
)
from app.attendance.models import (
    AttendanceLink,
    AttendanceRecord,
    ClassSession,
    Mark,
    SessionStatus,
    TopicProgress,
)
from app.core import audit, clock, events
from app.core.config import get_settings
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.core.roles import Role
from app.core.security import new_token, token_hash
from app.core.tenancy import Actor
from app.identity.models import Institute, User
from app.inbox import service as inbox
from app.notify import links as notify_links
from app.notify import service as notify

WINDOW_CLOSED = "Attendance window closed for this class."
LINK_INVALID = "This attendance link is not valid."
LINK_USED = "This attendance link was already used."
LINK_EXPIRED = "This attendance link has expired. Open the sheet from Today instead."
LINK_SUBSCRIPTION = (
    "This institute's subscription has ended, so this attendance link no longer works."
)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# ------------------------------------------------------------------ generating sessions


def generate_sessions_internal(session: Session, *, institute_id: int, start: date, end: date) -> int:
    """Create the sessions of every active schedule between two dates; existing ones are kept.

    Set-based: one read of schedules, one of existing sessions, one bulk insert.
    """
    if end < start:
        raise ValidationError("The end date is before the start date.")
    institute = session.get(Institute, institute_id)
    tz = ZoneInfo(institute.timezone)
    slots = session.exec(
        select(BatchSchedule)
        .join(Batch, Batch.id == BatchSchedule.batch_id)
        .where(
            BatchSchedule.institute_id == institute_id,
            col(BatchSchedule.active).is_(True),
            col(Batch.active).is_(True),
        )
    ).all()
    if not slots:
        return 0
    window_start = datetime.combine(start, datetime.min.time(), tz).astimezone(UTC)
    window_end = datetime.combine(end + timedelta(days=1), datetime.min.time(), tz).astimezone(UTC)
    existing = {
        (b, _aware(s))
        for b, s in session.exec(
            select(ClassSession.batch_id, ClassSession.starts_at).where(
                ClassSession.institute_id == institute_id,
                ClassSession.starts_at >= window_start,
                ClassSession.starts_at < window_end,
            )
        )
    }
    rows = []
    day = start
    while day <= end:
        for slot in slots:
            if slot.weekday != day.weekday():
                continue
            starts = datetime.combine(day, slot.start_time, tz).astimezone(UTC)
            if (slot.batch_id, starts) in existing:
                continue
            existing.add((slot.batch_id, starts))
            rows.append(
                {
                    "institute_id": institute_id,
                    "batch_id": slot.batch_id,
                    "schedule_id": slot.id,
                    "date": day,
                    "starts_at": starts,
                    "ends_at": starts + timedelta(minutes=slot.duration_minutes),
                    "status": SessionStatus.SCHEDULED.value,
                    "version": 0,
                }
            )
        day += timedelta(days=1)
    for i in range(0, len(rows), 2000):
        session.execute(insert(ClassSession), rows[i : i + 2000])
    session.flush()
    return len(rows)


def generate_for(session: Session, *, actor: Actor, start: date, end: date) -> int:
    """Admin: create the institute's sessions for a date range (idempotent)."""
    actor.require(Role.ADMIN)
    created = generate_sessions_internal(session, institute_id=actor.institute_scope(), start=start, end=end)
    audit.record(
        session,
        actor=actor,
        action="sessions.generate",
        detail={"from": str(start), "to": str(end), "created": created},
    )
    return created


def create_adhoc_session(
    session: Session, *, actor: Actor, batch_id: int, day: date, start_time, duration_minutes: int
) -> ClassSession:
    """An extra class outside the weekly schedule."""
    actor.require(Role.ADMIN, Role.TEACHER)
    batch = session.get(Batch, batch_id)
    if batch is None or batch.institute_id != actor.institute_scope():
        raise NotFound("That batch does not exist.")
    academics.ensure_teacher_scope(session, actor=actor, batch=batch)
    if not 5 <= duration_minutes <= 600:
        raise ValidationError("A class lasts between 5 and 600 minutes.", field="duration_minutes")
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


# ------------------------------------------------------------------ lifecycle


def live_status(row: ClassSession, now: datetime | None = None) -> str:
    """The status as of now (a scheduled session is open once its window starts)."""
    now = now or clock.now()
    settings = get_settings()
    if row.status == SessionStatus.SCHEDULED.value and now >= _aware(row.starts_at) - timedelta(
        minutes=settings.ATTENDANCE_OPEN_BEFORE_MINUTES
    ):
        if now > _aware(row.ends_at) + timedelta(
            minutes=settings.ATTENDANCE_AUTO_CLOSE_GRACE_MINUTES
        ):
            return SessionStatus.MISSED.value
        return SessionStatus.OPEN.value
    return row.status


def auto_close(session: Session) -> dict:
    """Open sessions whose window began; close submitted ones and mark unsubmitted ones missed
    after class end + grace (one missed_session action each). All institutes, set-based."""
    settings = get_settings()
    now = clock.now()
    cutoff = now - timedelta(minutes=settings.ATTENDANCE_AUTO_CLOSE_GRACE_MINUTES)
    opening = (
        select(ClassSession, Batch)
        .join(Batch, Batch.id == ClassSession.batch_id)
        .where(
            ClassSession.status == SessionStatus.SCHEDULED.value,
            col(ClassSession.starts_at)
            <= now + timedelta(minutes=settings.ATTENDANCE_OPEN_BEFORE_MINUTES),
            col(ClassSession.ends_at) >= cutoff,
        )
    )
    to_open = session.exec(opening).all()
    for row, _batch in to_open:
        row.status = SessionStatus.OPEN.value
        session.add(row)
    session.flush()
    links = _send_links(session, to_open)
    opened = len(to_open)
    closed = (
        session.execute(
            update(ClassSession)
            .where(
                ClassSession.status == SessionStatus.SUBMITTED.value,
                col(ClassSession.ends_at) < cutoff,
            )
            .values(status=SessionStatus.CLOSED.value)
        ).rowcount
        or 0
    )
    missing = session.exec(
        select(ClassSession, Batch)
        .join(Batch, Batch.id == ClassSession.batch_id)
        .where(
            col(ClassSession.status).in_([SessionStatus.SCHEDULED.value, SessionStatus.OPEN.value]),
            col(ClassSession.ends_at) < cutoff,
        )
    ).all()
    for row, batch in missing:
        row.status = SessionStatus.MISSED.value
        session.add(row)
        local = _aware(row.starts_at).astimezone(
            ZoneInfo(session.get(Institute, row.institute_id).timezone)
        )
        inbox.open_action_internal(
            session,
            institute_id=row.institute_id,
            type="missed_session",
            batch_id=batch.id,
            session_id=row.id,
            owner_user_id=batch.teacher_user_id,
            reason=f"No attendance was taken for {batch.name} on {local:%a %d %b, %H:%M}.",
            dedupe_key=f"missed_session:{row.id}",
        )
    session.flush()
    return {"opened": opened, "closed": closed, "missed": len(missing), "links_sent": links}


def _send_links(session: Session, opening: list) -> int:
    """Each teacher with a Telegram chat gets a one-time link to the sheet of a class that opens."""
    teacher_ids = {batch.teacher_user_id for _row, batch in opening if batch.teacher_user_id}
    if not teacher_ids:
        return 0
    chats = dict(
        session.exec(
            select(User.id, User.telegram_chat_id).where(
                col(User.id).in_(teacher_ids), col(User.telegram_chat_id).is_not(None)
            )
        ).all()
    )
    sent = 0
    for row, batch in opening:
        chat = chats.get(batch.teacher_user_id)
        if not chat:
            continue
        now = clock.now()
        link = AttendanceLink(
            institute_id=row.institute_id,
            session_id=row.id,
            # Unusable until delivery mints the real token (deliver_link): the outbox keeps
            # only a reference, never a working link.
            token_hash=token_hash(new_token()),
            created_for=batch.teacher_user_id,
            created_at=now,
            expires_at=now + timedelta(hours=get_settings().ATTENDANCE_LINK_HOURS),
        )
        session.add(link)
        session.flush()
        notify.enqueue_internal(
            session,
            institute_id=row.institute_id,
            channel="telegram",
            recipient=chat,
            recipient_user_id=batch.teacher_user_id,
            text=(
                f"{batch.name} starts soon. Take attendance here (works once): "
                f"{notify_links.reference('attendance', link.id)}"
            ),
            dedupe_key=f"attendance_link:{row.id}",
        )
        sent += 1
    session.flush()
    return sent


def reopen_session(session: Session, *, actor: Actor, session_id: int) -> ClassSession:
    """Admin only: let a closed, missed or submitted session take marks again (saved marks stay)."""
    actor.require(Role.ADMIN)
    row = _session(session, actor, session_id)
    if row.status in (SessionStatus.SCHEDULED.value, SessionStatus.OPEN.value):
        raise ValidationError("This session is already open.")
    previous = row.status
    row.status = SessionStatus.OPEN.value
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="session.reopen",
        target_type="class_session",
        target_id=row.id,
        detail={"from": previous},
    )
    return row


def _session(session: Session, actor: Actor, session_id: int) -> ClassSession:
    row = session.get(ClassSession, session_id)
    if row is None or row.institute_id != actor.institute_scope():
        raise NotFound("That class session does not exist.")
    return row


# ------------------------------------------------------------------ today and the sheet


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


def sessions_for_day(session: Session, *, actor: Actor, day: date) -> list[SessionCard]:
    """A day's sessions (teacher: their batches; admin: all), with the live status."""
    actor.require(Role.ADMIN, Role.TEACHER)
    institute_id = actor.institute_scope()
    from sqlalchemy import func

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
    query = (
        select(ClassSession, Batch.name, Subject.name, User.name, marked.c.n)
        .join(Batch, Batch.id == ClassSession.batch_id)
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
    now = clock.now()
    return [
        SessionCard(
            id=r.id,
            batch=b,
            subject=s,
            teacher=t,
            starts_at=_aware(r.starts_at),
            ends_at=_aware(r.ends_at),
            status=live_status(r, now),
            students=batch_sizes.get(r.batch_id, 0),
            marked=int(n or 0),
        )
        for r, b, s, t, n in rows
    ]


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
    topics: list[Topic] = field(default_factory=list)
    suggested: list[int] = field(default_factory=list)
    covered: list[int] = field(default_factory=list)
    notes: str | None = None
    submitted_by: str | None = None
    submitted_at: datetime | None = None

    @property
    def taken(self) -> bool:
        return bool(self.marks)

    @property
    def accepts_marks(self) -> bool:
        return self.status in (SessionStatus.SCHEDULED.value, SessionStatus.OPEN.value)


def attendance_sheet(session: Session, *, actor: Actor, session_id: int) -> Sheet:
    """Everything the sheet shows: students (preset present), saved marks, syllabus, suggestions."""
    actor.require(Role.ADMIN, Role.TEACHER)
    row = _session(session, actor, session_id)
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
    topics = list(
        session.exec(
            select(Topic)
            .where(Topic.institute_id == row.institute_id, Topic.subject_id == batch.subject_id)
            .order_by(Topic.position)
        )
    )
    taught = set()
    for covered in session.exec(
        select(ClassSession.topics_covered).where(
            ClassSession.institute_id == row.institute_id,
            ClassSession.batch_id == batch.id,
            col(ClassSession.topics_covered).is_not(None),
            ClassSession.id != row.id,
        )
    ):
        taught.update(covered or [])
    suggested = [t.id for t in topics if t.id not in taught][:2]
    submitter = session.get(User, row.submitted_by) if row.submitted_by else None
    return Sheet(
        session_id=row.id,
        batch_id=batch.id,
        batch=batch.name,
        subject_id=batch.subject_id,
        date=row.date,
        starts_at=_aware(row.starts_at),
        status=live_status(row),
        version=row.version,
        students=students,
        marks={r.student_id: r.status for r in records},
        understanding={r.student_id: r.understanding for r in records if r.understanding},
        topics=topics,
        suggested=suggested,
        covered=list(row.topics_covered or []),
        notes=row.notes,
        submitted_by=submitter.name if submitter else None,
        submitted_at=_aware(row.submitted_at) if row.submitted_at else None,
    )


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
) -> ClassSession:
    """Save a sheet (students not listed are present) and run the post-class pipeline once."""
    actor.require(Role.ADMIN, Role.TEACHER)
    row = _session(session, actor, session_id)
    batch = session.get(Batch, row.batch_id)
    link = None
    if link_token:
        link = _valid_link(session, row, link_token)
    else:
        academics.ensure_teacher_scope(session, actor=actor, batch=batch)
    status = live_status(row)
    if status in (SessionStatus.CLOSED.value, SessionStatus.MISSED.value):
        raise ValidationError(WINDOW_CLOSED)
    if row.status == SessionStatus.SUBMITTED.value and actor.role != Role.ADMIN:
        raise Conflict(_already(session, row))
    if row.version != expected_version:
        raise Conflict(_already(session, row) + " Reload to see the saved marks.")
    students = {
        s.id: s
        for s in academics.members_on_internal(
            session, institute_id=row.institute_id, batch_id=batch.id, day=row.date
        )
    }
    unknown = set(marks) - set(students)
    if unknown:
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
    ratings = {k: int(v) for k, v in (understanding or {}).items() if v}
    if any(not 1 <= v <= 5 for v in ratings.values()):
        raise ValidationError("Understanding is rated 1 to 5.")
    topic_ids = list(dict.fromkeys(topics or []))
    if topic_ids:
        valid = set(
            session.exec(
                select(Topic.id).where(
                    Topic.institute_id == row.institute_id,
                    Topic.subject_id == batch.subject_id,
                    col(Topic.id).in_(topic_ids),
                )
            )
        )
        if set(topic_ids) - valid:
            raise ValidationError("Choose topics from this batch's syllabus.")
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
    first_submission = expected_version == 0
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
                }
            )
        elif record.status != mark or record.understanding != ratings.get(student_id):
            record.status, record.understanding = mark, ratings.get(student_id)
            session.add(record)
    if new_rows:
        session.execute(insert(AttendanceRecord), new_rows)
    if link is not None:
        link.used_at = now
        session.add(link)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="attendance.submit",
        target_type="class_session",
        target_id=row.id,
        detail={
            "absent": sum(1 for m in clean.values() if m == Mark.ABSENT.value),
            "students": len(clean),
            "resubmission": not first_submission,
            "via_link": link is not None,
        },
    )
    post_class_pipeline(
        session, row=row, batch=batch, marks=clean, ratings=ratings, topic_ids=topic_ids
    )
    return row


def _already(session: Session, row: ClassSession) -> str:
    who = session.get(User, row.submitted_by) if row.submitted_by else None
    tz = ZoneInfo(session.get(Institute, row.institute_id).timezone)
    when = _aware(row.submitted_at).astimezone(tz).strftime("%H:%M") if row.submitted_at else "?"
    return f"Attendance was already submitted by {who.name if who else 'someone'} at {when}."


# ------------------------------------------------------------------ the post-class pipeline


def post_class_pipeline(
    session: Session,
    *,
    row: ClassSession,
    batch: Batch,
    marks: dict[int, str],
    ratings: dict[int, int],
    topic_ids: list[int],
) -> dict:
    """Topic progress, guardian absence messages (deduplicated), absence streak actions."""
    rules = notify.effective_rules_internal(session, institute_id=row.institute_id, batch_id=batch.id)
    progress = _topic_progress(session, row=row, marks=marks, ratings=ratings, topic_ids=topic_ids)
    if progress:
        _enrolment_completion(
            session,
            institute_id=row.institute_id,
            subject_id=batch.subject_id,
            student_ids=[
                sid for sid, m in marks.items() if m in (Mark.PRESENT.value, Mark.LATE.value)
            ],
        )
    absent = [sid for sid, m in marks.items() if m == Mark.ABSENT.value]
    messages = 0
    if absent and rules.notify_guardian_on_absence:
        tz = ZoneInfo(session.get(Institute, row.institute_id).timezone)
        local = _aware(row.starts_at).astimezone(tz)
        names = {
            s.id: s.name for s in session.exec(select(Student).where(col(Student.id).in_(absent)))
        }
        guardians = session.exec(
            select(Guardian).where(
                Guardian.institute_id == row.institute_id, col(Guardian.student_id).in_(absent)
            )
        ).all()
        messages = notify.enqueue_many_internal(
            session,
            institute_id=row.institute_id,
            messages=[
                {
                    "channel": "telegram",
                    "recipient": g.telegram_chat_id,
                    "text": f"{names[g.student_id]} was absent from {batch.name} on {local:%A %d %B} at {local:%H:%M}. "
                    "Please reply to the institute if this is unexpected.",
                    "dedupe_key": f"absence:{row.id}:{g.student_id}:{g.id}",
                }
                for g in guardians
            ],
        )
    streaks = _absence_streaks(
        session, row=row, batch=batch, absent=absent, threshold=rules.absence_streak_threshold
    )
    # Badges whose rules this class may now meet (attendance, competency) are awarded at once.
    reactions = events.publish(
        session,
        events.AttendanceSubmitted(
            institute_id=row.institute_id,
            session_id=row.id,
            batch_id=batch.id,
            student_ids=frozenset(marks),
        ),
    )
    badges = reactions.get("badges") or {}
    return {
        "topic_progress": progress,
        "guardian_messages": messages,
        "streak_actions": streaks,
        "badges": badges.get("rule_awards", 0) + badges.get("progression_awards", 0),
    }


def _topic_progress(
    session: Session,
    *,
    row: ClassSession,
    marks: dict[int, str],
    ratings: dict[int, int],
    topic_ids: list[int],
) -> int:
    """Competency 0–5 is the running mean of understanding ratings (3 when a class gave none)."""
    attended = [sid for sid, m in marks.items() if m in (Mark.PRESENT.value, Mark.LATE.value)]
    if not topic_ids or not attended:
        return 0
    minutes = int((_aware(row.ends_at) - _aware(row.starts_at)).total_seconds() // 60) // len(
        topic_ids
    )
    existing = {
        (p.student_id, p.topic_id): p
        for p in session.exec(
            select(TopicProgress).where(
                TopicProgress.institute_id == row.institute_id,
                col(TopicProgress.student_id).in_(attended),
                col(TopicProgress.topic_id).in_(topic_ids),
            )
        )
    }
    new_rows = []
    for student_id in attended:
        rating = ratings.get(student_id, 3)
        for topic_id in topic_ids:
            p = existing.get((student_id, topic_id))
            count = p.sessions_count if p else 0
            competency = round(((p.competency if p else 0) * count + rating) / (count + 1), 2)
            status = (
                "needs_review"
                if rating <= 2
                else "mastered"
                if competency >= 4.5 and count + 1 >= 2
                else "completed"
                if competency >= 3.5
                else "in_progress"
            )
            if p is None:
                new_rows.append(
                    {
                        "institute_id": row.institute_id,
                        "student_id": student_id,
                        "topic_id": topic_id,
                        "competency": competency,
                        "status": status,
                        "minutes_spent": minutes,
                        "sessions_count": 1,
                        "last_session_at": row.starts_at,
                        "completed_at": row.starts_at if status in DONE_STATUSES else None,
                    }
                )
            else:
                p.competency, p.status, p.sessions_count = competency, status, count + 1
                p.minutes_spent += minutes
                p.last_session_at = row.starts_at
                if status in DONE_STATUSES and p.completed_at is None:
                    p.completed_at = row.starts_at
                session.add(p)
    if new_rows:
        session.execute(insert(TopicProgress), new_rows)
    session.flush()
    return len(attended) * len(topic_ids)


def _enrolment_completion(
    session: Session, *, institute_id: int, subject_id: int, student_ids: list[int]
) -> None:
    """Completion % of the students' enrolments in the subject: topics completed or mastered out of
    the syllabus, in one grouped query."""
    from sqlalchemy import func

    from app.academics.models import Enrollment

    total = session.exec(
        select(func.count())
        .select_from(Topic)
        .where(Topic.institute_id == institute_id, Topic.subject_id == subject_id)
    ).one()
    if not total or not student_ids:
        return
    done = dict(
        session.exec(
            select(TopicProgress.student_id, func.count())
            .join(Topic, Topic.id == TopicProgress.topic_id)
            .where(
                TopicProgress.institute_id == institute_id,
                Topic.subject_id == subject_id,
                col(TopicProgress.student_id).in_(student_ids),
                col(TopicProgress.status).in_(["completed", "mastered"]),
            )
            .group_by(TopicProgress.student_id)
        ).all()
    )
    for enrolment in session.exec(
        select(Enrollment).where(
            Enrollment.institute_id == institute_id,
            Enrollment.subject_id == subject_id,
            col(Enrollment.student_id).in_(student_ids),
        )
    ):
        enrolment.completion_pct = round(100 * done.get(enrolment.student_id, 0) / total, 1)
        session.add(enrolment)
    session.flush()


def _absence_streaks(
    session: Session, *, row: ClassSession, batch: Batch, absent: list[int], threshold: int
) -> int:
    """Students absent from the batch's last `threshold` taken sessions get one action per streak."""
    if not absent or threshold < 1:
        return 0
    recent = list(
        session.exec(
            select(ClassSession.id)
            .where(
                ClassSession.institute_id == row.institute_id,
                ClassSession.batch_id == batch.id,
                col(ClassSession.status).in_(
                    [SessionStatus.SUBMITTED.value, SessionStatus.CLOSED.value]
                ),
                ClassSession.starts_at <= row.starts_at,
            )
            .order_by(col(ClassSession.starts_at).desc())
            .limit(threshold)
        )
    )
    if len(recent) < threshold:
        return 0
    marks = session.exec(
        select(
            AttendanceRecord.student_id, AttendanceRecord.session_id, AttendanceRecord.status
        ).where(
            AttendanceRecord.institute_id == row.institute_id,
            col(AttendanceRecord.session_id).in_(recent),
            col(AttendanceRecord.student_id).in_(absent),
        )
    ).all()
    absences: dict[int, int] = {}
    for student_id, _sid, status in marks:
        if status == Mark.ABSENT.value:
            absences[student_id] = absences.get(student_id, 0) + 1
    opened = 0
    names = {s.id: s.name for s in session.exec(select(Student).where(col(Student.id).in_(absent)))}
    for student_id, n in absences.items():
        if n >= threshold:
            inbox.open_action_internal(
                session,
                institute_id=row.institute_id,
                type="absence_streak",
                student_id=student_id,
                batch_id=batch.id,
                session_id=row.id,
                owner_user_id=batch.teacher_user_id,
                reason=f"{names[student_id]} missed the last {threshold} classes of {batch.name}.",
                dedupe_key=f"absence_streak:{student_id}:{batch.id}:{recent[-1]}",
            )
            opened += 1
    return opened


# ------------------------------------------------------------------ assessment results

ASSESSMENT_WEIGHT = 2  # one assessment result counts as much as two class understanding ratings


def apply_assessment_internal(
    session: Session, *, institute_id: int, topic_id: int, percentages: dict[int, float]
) -> int:
    """Fold assessment results on a topic into the students' topic progress (set-based).

    A result of p% is a competency of p / 20 (0–5). It joins the running mean that class ratings
    keep, weighted ASSESSMENT_WEIGHT: new = (competency × sessions_count + result × weight) /
    (sessions_count + weight); a student never rated in class takes the result as it is. The
    status follows the class rules with the result in place of the rating: needs_review for a
    result of 2 or less (40% or less), mastered at 4.5 or more once a class is behind it too,
    completed at 3.5 or more, otherwise in_progress. sessions_count, minutes_spent and
    last_session_at stay the classes' own. Students without a row get one; enrolment
    completion is refreshed as after a class. One read, one bulk insert, one bulk update.
    """
    if not percentages:
        return 0
    topic = session.get(Topic, topic_id)
    if topic is None or topic.institute_id != institute_id:
        raise NotFound("That topic does not exist.")
    existing = {
        student_id: (row_id, competency, count, completed_at)
        for row_id, student_id, competency, count, completed_at in session.exec(
            select(
                TopicProgress.id,
                TopicProgress.student_id,
                TopicProgress.competency,
                TopicProgress.sessions_count,
                TopicProgress.completed_at,
            ).where(
                TopicProgress.institute_id == institute_id,
                TopicProgress.topic_id == topic_id,
                col(TopicProgress.student_id).in_(list(percentages)),
            )
        )
    }
    new_rows, changes = [], []
    now = clock.now()
    for student_id, percent in percentages.items():
        result = min(max(float(percent), 0.0), 100.0) / 20
        row_id, current, count, completed_at = existing.get(student_id, (None, 0.0, 0, None))
        competency = round(
            ((current or 0) * count + result * ASSESSMENT_WEIGHT) / (count + ASSESSMENT_WEIGHT), 2
        )
        status = (
            "needs_review"
            if result <= 2
            else "mastered"
            if competency >= 4.5 and count >= 1
            else "completed"
            if competency >= 3.5
            else "in_progress"
        )
        if row_id is None:
            new_rows.append(
                {
                    "institute_id": institute_id,
                    "student_id": student_id,
                    "topic_id": topic_id,
                    "competency": competency,
                    "status": status,
                    "minutes_spent": 0,
                    "sessions_count": 0,
                    "completed_at": now if status in DONE_STATUSES else None,
                }
            )
        else:
            if completed_at is None and status in DONE_STATUSES:
                completed_at = now
            changes.append(
                {
                    "id": row_id,
                    "competency": competency,
                    "status": status,
                    "completed_at": completed_at,
                }
            )
    if new_rows:
        session.execute(insert(TopicProgress), new_rows)
    if changes:
        session.execute(update(TopicProgress), changes)
    session.flush()
    _enrolment_completion(
        session,
        institute_id=institute_id,
        subject_id=topic.subject_id,
        student_ids=list(percentages),
    )
    return len(percentages)


# ------------------------------------------------------------------ one-time links


def create_link(session: Session, *, actor: Actor, session_id: int) -> str:
    """A one-time link to this session's sheet that works without signing in (for Telegram)."""
    actor.require(Role.ADMIN, Role.TEACHER)
    row = _session(session, actor, session_id)
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
    return f"{get_settings().APP_BASE_URL.rstrip('/')}/?attendance={token}"


def deliver_link(session: Session, link_id: int) -> str | None:
    """At delivery time (system context): a fresh token for a queued link, as a URL; None when
    the link was used, has expired or its institute's subscription has ended."""
    link = session.get(AttendanceLink, link_id)
    if link is None or link.used_at is not None or clock.now() >= _aware(link.expires_at):
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
    if clock.now() >= _aware(link.expires_at):
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
    if clock.now() >= _aware(link.expires_at):
        return None, None, LINK_EXPIRED
    if _subscription_ended(session, link.institute_id):
        return None, None, LINK_SUBSCRIPTION
    row = session.get(ClassSession, link.session_id)
    batch = session.get(Batch, row.batch_id)
    user = session.get(User, link.created_for) if link.created_for else None
    if user is None or user.status == "disabled":
        return None, None, LINK_INVALID
    actor = Actor(
        user_id=user.id,
        role=Role(user.role),
        institute_id=row.institute_id,
        name=user.name,
        source="link",
    )
    return actor, _sheet(session, row, batch), None


# ------------------------------------------------------------------ calendars and the student's own


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


PLANNED = "planned"


def classes_between_internal(
    session: Session, *, institute_id: int, batch_ids: set[int], start: date, end: date, tz: str
) -> list[ClassSlot]:
    """The classes of some batches between two local dates, by start: the sessions that exist,
    plus, from today on, the weekly schedule's classes not created yet. Two queries."""
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
    slots = [
        ClassSlot(
            session_id=r.id,
            batch_id=r.batch_id,
            date=r.date,
            starts_at=_aware(r.starts_at),
            ends_at=_aware(r.ends_at),
            status=live_status(r, now),
        )
        for r in rows
    ]
    first = max(start, now.astimezone(zone).date())
    if first <= end:
        taken = {(s.batch_id, s.starts_at) for s in slots}
        weekly = session.exec(
            select(BatchSchedule)
            .join(Batch, Batch.id == BatchSchedule.batch_id)
            .where(
                BatchSchedule.institute_id == institute_id,
                col(BatchSchedule.batch_id).in_(batch_ids),
                col(BatchSchedule.active).is_(True),
                col(Batch.active).is_(True),
            )
        ).all()
        day = first
        while day <= end and weekly:
            for slot in weekly:
                if slot.weekday != day.weekday():
                    continue
                starts = datetime.combine(day, slot.start_time, zone).astimezone(UTC)
                if (slot.batch_id, starts) in taken:
                    continue
                slots.append(
                    ClassSlot(
                        session_id=None,
                        batch_id=slot.batch_id,
                        date=day,
                        starts_at=starts,
                        ends_at=starts + timedelta(minutes=slot.duration_minutes),
                        status=PLANNED,
                    )
                )
            day += timedelta(days=1)
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
        MyClass(
            session_id=s.session_id,
            batch_id=s.batch_id,
            batch=names[s.batch_id][0],
            subject=names[s.batch_id][1],
            teacher=names[s.batch_id][2],
            date=s.date,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            status=s.status,
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
        event.add("status", "CONFIRMED")
        calendar.add_component(event)
    return calendar.to_ical()


@dataclass(frozen=True)
class AttendanceTally:
    sessions: int = 0  # classes taken with the student on the sheet
    present: int = 0
    late: int = 0
    absent: int = 0
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
        absent=counts.get(Mark.ABSENT.value, 0),
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
    their latest marks. Two grouped, indexed queries."""
    student = academics.my_student(session, actor=actor)
    institute_id = student.institute_id
    scope = [
        AttendanceRecord.institute_id == institute_id,
        AttendanceRecord.student_id == student.id,
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
            MyMark(date=day, starts_at=_aware(starts), batch=b, subject=s, status=status)
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


DONE_STATUSES = ("completed", "mastered")


def session_mark_counts():
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
