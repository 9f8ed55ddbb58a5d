"""What giving and reviewing feedback share: limits, the anonymous label, who is staff, and the
institute's time zone."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import and_
from sqlmodel import Session, col, select

from app.academics.models import Student, Subject
from app.attendance.models import ClassSession
from app.feedback import analytics
from app.feedback.models import Feedback, FeedbackType
from app.identity.models import Institute, User

FEEDBACK_WINDOW_DAYS = 14  # a session can be rated for two weeks after it started
MAX_COMMENT = 2000
ANONYMOUS = "Anonymous"
STAFF_ROLES = analytics.STAFF_ROLES


def institute_tz_internal(session: Session, institute_id: int) -> ZoneInfo:
    institute = session.get(Institute, institute_id)
    return ZoneInfo(institute.timezone if institute else "UTC")


def rows_query(institute_id: int):
    """Feedback rows with the names a reader sees (never a student's for anonymous rows)."""
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


def about(r) -> str:
    """What a feedback row is about, in words."""
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
