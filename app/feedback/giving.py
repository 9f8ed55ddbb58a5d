"""Giving feedback (students): what they may rate, submitting it (optionally anonymously),
and their own named feedback."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, or_
from sqlmodel import Session, col, select

from app.academics.models import Batch, BatchMembership, Student, Subject
from app.academics.service import for_my_student, my_student
from app.attendance.models import (
    ABSENT_MARKS,
    NOT_HELD,
    AttendanceRecord,
    ClassSession,
    SessionStatus,
)
from app.core import audit, clock, db
from app.core.errors import Conflict, ValidationError
from app.core.security import keyed_hash
from app.core.tenancy import Actor
from app.feedback import sentiment as sentiment_mod
from app.feedback.common import (
    FEEDBACK_WINDOW_DAYS,
    MAX_COMMENT,
    about,
    institute_tz_internal,
    rows_query,
)
from app.feedback.models import Feedback, FeedbackType, Sentiment
from app.identity.models import User
from app.inbox import service as inbox_service
from app.inbox.models import ActionType

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


def guard_key(institute_id: int, student_id: int, target: str) -> str:
    """One-way key of (student, target, period) that only detects a second submission."""
    return keyed_hash(f"feedback-guard:{institute_id}:{student_id}:{target}")


@dataclass(frozen=True)
class _Target:
    """What a piece of feedback is about, its once-per key, and how it is named in messages."""

    key: str
    about: str
    session_id: int | None = None
    faculty_id: int | None = None
    subject_id: int | None = None
    batch_id: int | None = None


def _target_of(
    session: Session,
    actor: Actor,
    student: Student,
    kind: FeedbackType,
    tz: ZoneInfo,
    *,
    session_id: int | None,
    faculty_id: int | None,
    subject_id: int | None,
) -> _Target:
    """Check what is rated is the student's to rate; once per session, monthly otherwise."""
    institute_id = student.institute_id
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
    return _Target(
        key=target,
        about=about,
        session_id=session_id,
        faculty_id=faculty_id,
        subject_id=subject_id,
        batch_id=batch_id,
    )


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
    tz = institute_tz_internal(session, institute_id)
    it = _target_of(
        session,
        actor,
        student,
        kind,
        tz,
        session_id=session_id,
        faculty_id=faculty_id,
        subject_id=subject_id,
    )
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
        dedupe_guard=guard_key(institute_id, student.id, it.key),
        feedback_type=kind.value,
        faculty_id=it.faculty_id,
        session_id=it.session_id,
        batch_id=it.batch_id,
        subject_id=it.subject_id,
        rating=rating,
        comments=text,
        sentiment=label.value,
        sentiment_score=compound,
        created_at=created_at,
        updated_at=created_at,
    )
    if not db.add_unless_duplicate(session, row):
        raise Conflict(
            "You already rated this session."
            if kind == FeedbackType.SESSION
            else f"You already rated {it.about} this month; you can again next month."
        )
    flagged = _flag_and_audit(
        session,
        actor,
        student,
        row,
        it,
        rating=rating,
        text=text,
        label=label,
        anonymous=anonymous,
        created_at=created_at,
    )
    return Submitted(sentiment=label.value, anonymous=bool(anonymous), flagged=flagged)


def _flag_and_audit(
    session: Session,
    actor: Actor,
    student: Student,
    row: Feedback,
    it: _Target,
    *,
    rating: int,
    text: str | None,
    label: Sentiment,
    anonymous: bool,
    created_at: datetime,
) -> bool:
    """Open an inbox action for negative or ≤ 2-star feedback, and audit the submission
    without linking anonymous feedback to the student; returns whether it was flagged."""
    institute_id = student.institute_id
    kind = row.feedback_type
    flagged = label == Sentiment.NEGATIVE or rating <= 2
    if flagged:
        quote = f": “{text[:160]}{'…' if len(text) > 160 else ''}”" if text else ""
        who = "Anonymous feedback" if anonymous else f"Feedback from {student.name}"
        inbox_service.open_action_internal(
            session,
            institute_id=institute_id,
            type=ActionType.NEGATIVE_FEEDBACK.value,
            reason=f"{who} ({rating}★, {label.value}) on {it.about}{quote}",
            dedupe_key=f"feedback:{row.id}",
            student_id=None if anonymous else student.id,
            batch_id=it.batch_id,
            session_id=it.session_id,
            owner_user_id=it.faculty_id,
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
        audit.on(
            session,
            actor,
            "feedback.submit",
            row.id,
            {"type": kind, "rating": rating, "sentiment": label.value},
        )
    return flagged


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
    return for_my_student(session, actor, my_subjects_internal)


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
        rows_query(student.institute_id)
        .where(Feedback.student_id == student.id)
        .order_by(col(Feedback.created_at).desc())
    ).all()
    return [
        MyFeedback(
            id=r.Feedback.id,
            created_at=r.Feedback.created_at,
            about=about(r),
            rating=r.Feedback.rating,
            comments=r.Feedback.comments,
            sentiment=r.Feedback.sentiment,
            status=r.Feedback.status,
            resolution_note=r.Feedback.resolution_note,
        )
        for r in rows
    ]
