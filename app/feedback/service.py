"""Student feedback: give it (optionally anonymously), see one's own, and, for staff, list, export,
review and resolve it. Sentiment comes from the comment (VADER) or, without one, the rating;
negative or ≤ 2-star feedback opens a `negative_feedback` action in the inbox.

Anonymity (see app/feedback/models.py): anonymous rows store no student at all, so every staff
function here reads from a table that cannot name them; staff rows show "Anonymous". The student
sees only their own *named* feedback: anonymous feedback is not linked to them, not even for them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.academics.models import Batch, BatchMembership, Student, Subject
from app.academics.service import has_student_record as has_student_record
from app.academics.service import my_student as my_student
from app.attendance.models import (
    ABSENT_MARKS,
    NOT_HELD,
    AttendanceRecord,
    ClassSession,
    SessionStatus,
)
from app.core import audit, clock, sheets
from app.core.errors import Conflict, NotFound, ValidationError
from app.core.roles import Role
from app.core.security import keyed_hash
from app.core.tenancy import Actor
from app.feedback import analytics
from app.feedback import sentiment as sentiment_mod
from app.feedback.models import Feedback, FeedbackStatus, FeedbackType, Sentiment
from app.identity.models import Institute, User
from app.inbox import service as inbox_service
from app.inbox.models import ActionStatus, ActionType, PendingAction

FEEDBACK_WINDOW_DAYS = 14  # a session can be rated for two weeks after it started
MAX_COMMENT = 2000
ANONYMOUS = "Anonymous"
STAFF_ROLES = analytics.STAFF_ROLES


# ------------------------------------------------------------------ student side


@dataclass(frozen=True)
class SessionTarget:
    session_id: int
    date: date
    batch: str
    subject: str
    teacher_user_id: int | None
    teacher: str | None

    @property
    def label(self) -> str:
        who = f" with {self.teacher}" if self.teacher else ""
        return f"{self.date:%d %b %Y} · {self.subject} ({self.batch}){who}"


@dataclass(frozen=True)
class TeacherTarget:
    user_id: int
    name: str
    subjects: str


def _institute_tz(session: Session, institute_id: int) -> ZoneInfo:
    institute = session.get(Institute, institute_id)
    return ZoneInfo(institute.timezone if institute else "UTC")


def _eligible_sessions_query(institute_id: int, student_id: int):
    now = clock.now()
    member = exists().where(
        BatchMembership.institute_id == institute_id,
        BatchMembership.batch_id == ClassSession.batch_id,
        BatchMembership.student_id == student_id,
        BatchMembership.joined_on <= ClassSession.date,
        or_(
            col(BatchMembership.left_on).is_(None),
            col(BatchMembership.left_on) >= ClassSession.date,
        ),
    )
    absent = exists().where(
        AttendanceRecord.institute_id == institute_id,
        AttendanceRecord.session_id == ClassSession.id,
        AttendanceRecord.student_id == student_id,
        col(AttendanceRecord.status).in_(ABSENT_MARKS),
    )
    return (
        select(ClassSession, Batch.name, Subject.name, Batch.teacher_user_id, User.name)
        .join(Batch, Batch.id == ClassSession.batch_id)
        .join(Subject, Subject.id == Batch.subject_id)
        .outerjoin(User, User.id == Batch.teacher_user_id)
        .where(
            ClassSession.institute_id == institute_id,
            ClassSession.starts_at <= now,
            ClassSession.starts_at >= now - timedelta(days=FEEDBACK_WINDOW_DAYS),
            col(ClassSession.status).not_in((SessionStatus.MISSED.value, *NOT_HELD)),
            member,
            ~absent,
        )
    )


def recent_sessions(session: Session, *, actor: Actor) -> list[SessionTarget]:
    """Sessions the signed-in student can rate: their batches' sessions of the last two weeks
    that they were not marked absent from, newest first."""
    student = my_student(session, actor=actor)
    rows = session.exec(
        _eligible_sessions_query(student.institute_id, student.id).order_by(
            col(ClassSession.starts_at).desc()
        )
    ).all()
    return [
        SessionTarget(
            session_id=cs.id,
            date=cs.date,
            batch=batch,
            subject=subject,
            teacher_user_id=teacher_id,
            teacher=teacher,
        )
        for cs, batch, subject, teacher_id, teacher in rows
    ]


def my_teachers(session: Session, *, actor: Actor) -> list[TeacherTarget]:
    """Teachers the signed-in student can rate: those of the batches they belong to now."""
    student = my_student(session, actor=actor)
    rows = session.exec(
        select(User.id, User.name, Subject.name)
        .join(Batch, Batch.teacher_user_id == User.id)
        .join(Subject, Subject.id == Batch.subject_id)
        .join(
            BatchMembership,
            and_(
                BatchMembership.batch_id == Batch.id,
                BatchMembership.institute_id == student.institute_id,
            ),
        )
        .where(
            Batch.institute_id == student.institute_id,
            BatchMembership.student_id == student.id,
            col(BatchMembership.left_on).is_(None),
        )
        .order_by(User.name)
    ).all()
    teachers: dict[int, tuple[str, set[str]]] = {}
    for user_id, name, subject in rows:
        teachers.setdefault(user_id, (name, set()))[1].add(subject)
    return [
        TeacherTarget(user_id=uid, name=name, subjects=", ".join(sorted(subjects)))
        for uid, (name, subjects) in teachers.items()
    ]


@dataclass(frozen=True)
class Submitted:
    """What the student is told after giving feedback (no id of an anonymous row)."""

    sentiment: str
    anonymous: bool
    flagged: bool  # it went to the inbox for follow-up


def _guard(institute_id: int, student_id: int, target: str) -> str:
    """One-way key of (student, target, period) that only detects a second submission."""
    return keyed_hash(f"feedback-guard:{institute_id}:{student_id}:{target}")


def submit_feedback(
    session: Session,
    *,
    actor: Actor,
    feedback_type: str,
    rating: int,
    comments: str | None = None,
    anonymous: bool = False,
    session_id: int | None = None,
    faculty_id: int | None = None,
    subject_id: int | None = None,
) -> Submitted:
    """Rate a recent session, one of one's teachers, one of one's subjects, the institute or
    its facilities 1–5, with an optional comment, optionally anonymously; once per session,
    once a month for each of the others."""
    student = my_student(session, actor=actor)
    institute_id = student.institute_id
    try:
        kind = FeedbackType(feedback_type)
    except ValueError:
        raise ValidationError(
            "Choose what you are rating: a session, a teacher, a subject, the institute or its "
            "facilities."
        ) from None
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise ValidationError("Give a rating from 1 to 5 stars.", field="rating")
    text = (comments or "").strip() or None
    if text and len(text) > MAX_COMMENT:
        raise ValidationError(
            f"Keep the comment under {MAX_COMMENT} characters (it has {len(text)}).",
            field="comments",
        )
    tz = _institute_tz(session, institute_id)
    subject_id_given, batch_id, subject_id = subject_id, None, None
    if kind == FeedbackType.SESSION:
        if session_id is None:
            raise ValidationError("Choose the session you are rating.", field="session_id")
        row = session.exec(
            _eligible_sessions_query(institute_id, student.id).where(ClassSession.id == session_id)
        ).first()
        if row is None:
            raise ValidationError(
                f"You can rate only your own sessions of the last {FEEDBACK_WINDOW_DAYS} days "
                "that you attended.",
                field="session_id",
            )
        cs = row[0]
        batch = session.get(Batch, cs.batch_id)
        batch_id, subject_id, faculty_id = batch.id, batch.subject_id, batch.teacher_user_id
        target = f"session:{cs.id}"
        about = f"the {row[2]} session of {cs.date:%d %b}"
    elif kind in (FeedbackType.SUBJECT, FeedbackType.INSTITUTE, FeedbackType.FACILITY):
        session_id = faculty_id = None
        period = clock.now().astimezone(tz).strftime("%Y-%m")
        if kind == FeedbackType.SUBJECT:
            mine = dict(
                my_subjects_internal(session, institute_id=institute_id, student_id=student.id)
            )
            if subject_id_given is None or subject_id_given not in mine:
                raise ValidationError("Choose one of the subjects you take.", field="subject_id")
            subject_id = subject_id_given
            target = f"subject:{subject_id}:{period}"
            about = mine[subject_id]
        else:
            target = f"{kind.value}:{period}"
            about = "the institute" if kind == FeedbackType.INSTITUTE else "the facilities"
    else:
        if faculty_id is None:
            raise ValidationError("Choose the teacher you are rating.", field="faculty_id")
        teachers = {t.user_id: t for t in my_teachers(session, actor=actor)}
        if faculty_id not in teachers:
            raise ValidationError("You can rate only the teachers of your batches.")
        session_id = None
        subject_id = _single_subject(session, institute_id, student.id, faculty_id)
        period = clock.now().astimezone(tz).strftime("%Y-%m")
        target = f"faculty:{faculty_id}:{period}"
        about = teachers[faculty_id].name
    label, compound = sentiment_mod.classify(text, rating)
    now = clock.now()
    created_at = now
    if anonymous:
        # Keep only the day: an exact time could be matched against sign-in times.
        local_day = now.astimezone(tz).date()
        created_at = datetime.combine(local_day, time(12), tzinfo=tz).astimezone(now.tzinfo)
    row = Feedback(
        institute_id=institute_id,
        student_id=None if anonymous else student.id,
        anonymous=bool(anonymous),
        dedupe_guard=_guard(institute_id, student.id, target),
        feedback_type=kind.value,
        faculty_id=faculty_id,
        session_id=session_id,
        batch_id=batch_id,
        subject_id=subject_id,
        rating=rating,
        comments=text,
        sentiment=label.value,
        sentiment_score=compound,
        created_at=created_at,
        updated_at=created_at,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Conflict(
            "You already rated this session."
            if kind == FeedbackType.SESSION
            else f"You already rated {about} this month; you can again next month."
        ) from None
    flagged = label == Sentiment.NEGATIVE or rating <= 2
    if flagged:
        quote = f": “{text[:160]}{'…' if len(text) > 160 else ''}”" if text else ""
        who = "Anonymous feedback" if anonymous else f"Feedback from {student.name}"
        inbox_service.open_action_internal(
            session,
            institute_id=institute_id,
            type=ActionType.NEGATIVE_FEEDBACK.value,
            reason=f"{who} ({rating}★, {label.value}) on {about}{quote}",
            dedupe_key=f"feedback:{row.id}",
            student_id=None if anonymous else student.id,
            batch_id=batch_id,
            session_id=session_id,
            owner_user_id=faculty_id,
            created_at=created_at,
        )
    if anonymous:
        # No actor, no target, no source address and only the day: the audit trail must not
        # link the student to the row (their own sign-in row has their address and time).
        audit.record(
            session,
            actor=None,
            institute_id=institute_id,
            action="feedback.submit_anonymous",
            at=created_at,
        )
    else:
        audit.record(
            session,
            actor=actor,
            action="feedback.submit",
            target_type="feedback",
            target_id=row.id,
            detail={"type": kind.value, "rating": rating, "sentiment": label.value},
        )
    return Submitted(sentiment=label.value, anonymous=bool(anonymous), flagged=flagged)


def my_subjects_internal(
    session: Session, *, institute_id: int, student_id: int | None
) -> list[tuple[int, str]]:
    """The subjects of the student's current batches (id, name), by name."""
    return [
        (sid, name)
        for sid, name in session.exec(
            select(Subject.id, Subject.name)
            .join(Batch, col(Batch.subject_id) == col(Subject.id))
            .join(BatchMembership, col(BatchMembership.batch_id) == col(Batch.id))
            .where(
                Batch.institute_id == institute_id,
                BatchMembership.student_id == student_id,
                col(BatchMembership.left_on).is_(None),
            )
            .distinct()
            .order_by(Subject.name)
        ).all()
        if sid is not None
    ]


def my_subjects(session: Session, *, actor: Actor) -> list[tuple[int, str]]:
    """The signed-in student's subjects, to rate one."""
    student = my_student(session, actor=actor)
    return my_subjects_internal(session, institute_id=student.institute_id, student_id=student.id)


def _single_subject(
    session: Session, institute_id: int, student_id: int, faculty_id: int
) -> int | None:
    """The subject a teacher teaches the student, when it is exactly one (for analytics)."""
    subjects = set(
        session.exec(
            select(Batch.subject_id)
            .join(BatchMembership, BatchMembership.batch_id == Batch.id)
            .where(
                Batch.institute_id == institute_id,
                Batch.teacher_user_id == faculty_id,
                BatchMembership.student_id == student_id,
                col(BatchMembership.left_on).is_(None),
            )
        )
    )
    return subjects.pop() if len(subjects) == 1 else None


@dataclass(frozen=True)
class MyFeedback:
    id: int
    created_at: datetime
    about: str
    rating: int
    comments: str | None
    sentiment: str
    status: str
    resolution_note: str | None


def my_feedback(session: Session, *, actor: Actor) -> list[MyFeedback]:
    """The signed-in student's own named feedback, newest first (anonymous feedback is not
    linked to anyone, so it cannot be listed, even for its author)."""
    student = my_student(session, actor=actor)
    rows = session.exec(
        _rows_query(student.institute_id)
        .where(Feedback.student_id == student.id)
        .order_by(col(Feedback.created_at).desc())
    ).all()
    return [
        MyFeedback(
            id=r.Feedback.id,
            created_at=r.Feedback.created_at,
            about=_about(r),
            rating=r.Feedback.rating,
            comments=r.Feedback.comments,
            sentiment=r.Feedback.sentiment,
            status=r.Feedback.status,
            resolution_note=r.Feedback.resolution_note,
        )
        for r in rows
    ]


# ------------------------------------------------------------------ staff side


@dataclass(frozen=True)
class FeedbackRow:
    """One feedback as staff see it: `student` is the name, or "Anonymous"."""

    id: int
    created_at: datetime
    student: str
    feedback_type: str
    about: str
    teacher: str | None
    subject: str | None
    rating: int
    comments: str | None
    sentiment: str
    sentiment_score: float | None
    status: str
    reviewed_by: str | None
    reviewed_at: datetime | None
    resolution_note: str | None


def _rows_query(institute_id: int):
    teacher = User.__table__.alias("teacher")
    reviewer = User.__table__.alias("reviewer")
    return (
        select(
            Feedback,
            Student.name.label("student_name"),
            teacher.c.name.label("teacher_name"),
            Subject.name.label("subject_name"),
            ClassSession.date.label("session_date"),
            reviewer.c.name.label("reviewer_name"),
        )
        .outerjoin(
            Student, and_(Student.id == Feedback.student_id, col(Feedback.anonymous).is_(False))
        )
        .outerjoin(teacher, teacher.c.id == Feedback.faculty_id)
        .outerjoin(Subject, Subject.id == Feedback.subject_id)
        .outerjoin(ClassSession, ClassSession.id == Feedback.session_id)
        .outerjoin(reviewer, reviewer.c.id == Feedback.reviewed_by)
        .where(Feedback.institute_id == institute_id)
    )


def _about(r) -> str:
    if r.Feedback.feedback_type == FeedbackType.SESSION.value:
        when = f"{r.session_date:%d %b %Y}" if r.session_date else "a session"
        return f"Session {when}" + (f" · {r.subject_name}" if r.subject_name else "")
    if r.Feedback.feedback_type == FeedbackType.SUBJECT.value:
        return f"Subject {r.subject_name or '—'}"
    if r.Feedback.feedback_type == FeedbackType.INSTITUTE.value:
        return "The institute"
    if r.Feedback.feedback_type == FeedbackType.FACILITY.value:
        return "The facilities"
    return f"Teacher {r.teacher_name or '—'}"


def _staff_scope(actor: Actor):
    """Feedback the actor may see (`analytics.visible_to`)."""
    return _rows_query(actor.institute_scope()).where(analytics.visible_to(actor))


def list_feedback(
    session: Session,
    *,
    actor: Actor,
    status: str | None = None,
    sentiment: str | None = None,
    faculty_id: int | None = None,
    subject_id: int | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = 500,
) -> list[FeedbackRow]:
    """Feedback for staff, newest first, with filters (admins: all; teachers: about them);
    anonymous rows show "Anonymous"."""
    query = _staff_scope(actor)
    if status:
        query = query.where(Feedback.status == FeedbackStatus(status).value)
    if sentiment:
        query = query.where(Feedback.sentiment == Sentiment(sentiment).value)
    if faculty_id:
        query = query.where(Feedback.faculty_id == faculty_id)
    if subject_id:
        query = query.where(Feedback.subject_id == subject_id)
    if since:
        query = query.where(Feedback.created_at >= _start_of(session, actor, since))
    if until:
        query = query.where(Feedback.created_at < _start_of(session, actor, until + timedelta(1)))
    rows = session.exec(
        query.order_by(col(Feedback.created_at).desc(), col(Feedback.id).desc()).limit(limit)
    ).all()
    return [_to_row(r) for r in rows]


def _start_of(session: Session, actor: Actor, day: date) -> datetime:
    tz = _institute_tz(session, actor.institute_scope())
    return datetime.combine(day, time(0), tzinfo=tz)


def _to_row(r) -> FeedbackRow:
    fb: Feedback = r.Feedback
    return FeedbackRow(
        id=fb.id,
        created_at=fb.created_at,
        student=ANONYMOUS if fb.anonymous else (r.student_name or "—"),
        feedback_type=fb.feedback_type,
        about=_about(r),
        teacher=r.teacher_name,
        subject=r.subject_name,
        rating=fb.rating,
        comments=fb.comments,
        sentiment=fb.sentiment,
        sentiment_score=fb.sentiment_score,
        status=fb.status,
        reviewed_by=r.reviewer_name,
        reviewed_at=fb.reviewed_at,
        resolution_note=fb.resolution_note,
    )


def get_feedback(session: Session, *, actor: Actor, feedback_id: int) -> FeedbackRow:
    """One feedback the actor may see."""
    r = session.exec(_staff_scope(actor).where(Feedback.id == feedback_id)).first()
    if r is None:
        raise NotFound("That feedback does not exist.")
    return _to_row(r)


EXPORT_COLUMNS = (
    "id",
    "given_on",
    "student",
    "type",
    "about",
    "teacher",
    "subject",
    "rating",
    "sentiment",
    "comments",
    "status",
    "reviewed_by",
    "resolution_note",
)


def export_csv(session: Session, *, actor: Actor, **filters) -> str:
    """The filtered feedback as CSV text for admins and teachers (anonymous rows say
    "Anonymous"); counselors follow up on screen, the export is the office's."""
    actor.require(Role.ADMIN, Role.TEACHER)
    rows = list_feedback(session, actor=actor, limit=100_000, **filters)
    tz = _institute_tz(session, actor.institute_scope())
    out = io.StringIO()
    writer = sheets.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for r in rows:
        writer.writerow(
            [
                value
                for value in (
                    r.id,
                    r.created_at.astimezone(tz).date().isoformat(),
                    r.student,
                    r.feedback_type,
                    r.about,
                    r.teacher or "",
                    r.subject or "",
                    r.rating,
                    r.sentiment,
                    r.comments or "",
                    r.status,
                    r.reviewed_by or "",
                    r.resolution_note or "",
                )
            ]
        )
    return out.getvalue()


def _load_for_update(session: Session, actor: Actor, feedback_id: int) -> Feedback:
    query = select(Feedback).where(
        Feedback.institute_id == actor.institute_scope(),
        Feedback.id == feedback_id,
        analytics.visible_to(actor),
    )
    fb = session.exec(query).first()
    if fb is None:
        raise NotFound("That feedback does not exist.")
    return fb


def review_feedback(
    session: Session, *, actor: Actor, feedback_id: int, note: str | None = None
) -> FeedbackRow:
    """Mark feedback as read and considered, with an optional note of the follow-up (admins,
    the teacher it is about, the counselor of the student who gave it)."""
    fb = _load_for_update(session, actor, feedback_id)
    if fb.status != FeedbackStatus.PENDING.value:
        raise Conflict("This feedback was already reviewed.")
    now = clock.now()
    fb.status = FeedbackStatus.REVIEWED.value
    fb.reviewed_by, fb.reviewed_at, fb.updated_at = actor.user_id, now, now
    if note and note.strip():
        fb.resolution_note = note.strip()[:MAX_COMMENT]
    session.add(fb)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="feedback.review",
        target_type="feedback",
        target_id=fb.id,
    )
    return get_feedback(session, actor=actor, feedback_id=fb.id)


def resolve_feedback(session: Session, *, actor: Actor, feedback_id: int, note: str) -> FeedbackRow:
    """Close feedback with a note saying what was done (admins); its inbox action closes too."""
    actor.require(Role.ADMIN)
    fb = _load_for_update(session, actor, feedback_id)
    text = (note or "").strip()
    if not text:
        raise ValidationError("Say what was done about this feedback, in a note.", field="note")
    if len(text) > MAX_COMMENT:
        raise ValidationError(f"Keep the note under {MAX_COMMENT} characters.", field="note")
    if fb.status == FeedbackStatus.RESOLVED.value:
        raise Conflict("This feedback was already resolved.")
    now = clock.now()
    fb.status = FeedbackStatus.RESOLVED.value
    fb.resolution_note = text
    fb.reviewed_by = fb.reviewed_by or actor.user_id
    fb.reviewed_at = fb.reviewed_at or now
    fb.updated_at = now
    session.add(fb)
    session.flush()
    action_id = session.exec(
        select(PendingAction.id).where(
            PendingAction.institute_id == fb.institute_id,
            PendingAction.dedupe_key == f"feedback:{fb.id}",
            PendingAction.status == ActionStatus.OPEN.value,
        )
    ).first()
    if action_id is not None:
        inbox_service.act(session, actor=actor, action_id=action_id, outcome="resolved", note=text)
    audit.record(
        session,
        actor=actor,
        action="feedback.resolve",
        target_type="feedback",
        target_id=fb.id,
    )
    return get_feedback(session, actor=actor, feedback_id=fb.id)


def staff_filters(session: Session, *, actor: Actor) -> dict[str, list[tuple[int, str]]]:
    """Teachers and subjects to filter feedback by (teachers see only themselves)."""
    actor.require(*STAFF_ROLES)
    institute_id = actor.institute_scope()
    teachers = session.exec(
        select(User.id, User.name)
        .where(User.institute_id == institute_id, User.role == Role.TEACHER.value)
        .order_by(User.name)
    ).all()
    if actor.role == Role.TEACHER:
        teachers = [t for t in teachers if t[0] == actor.user_id]
    subjects = session.exec(
        select(Subject.id, Subject.name)
        .where(Subject.institute_id == institute_id)
        .order_by(Subject.name)
    ).all()
    return {"teachers": [tuple(t) for t in teachers], "subjects": [tuple(s) for s in subjects]}
