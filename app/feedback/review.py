"""Reviewing feedback (staff): list, read, export, mark reviewed and resolve; anonymous rows
name no student."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlmodel import Session, col, select

from app.academics.models import Subject
from app.core import audit, clock, sheets
from app.core.errors import Conflict, NotFound, ValidationError
from app.core.roles import Role
from app.core.rows import carry
from app.core.tenancy import Actor
from app.feedback import analytics
from app.feedback.common import (
    ANONYMOUS,
    MAX_COMMENT,
    STAFF_ROLES,
    about,
    institute_tz_internal,
    rows_query,
)
from app.feedback.models import Feedback, FeedbackStatus, Sentiment
from app.identity.models import User
from app.inbox import service as inbox_service
from app.inbox.models import ActionStatus, PendingAction

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


def _staff_scope(actor: Actor):
    """Feedback the actor may see (`analytics.visible_to`)."""
    return rows_query(actor.institute_scope()).where(analytics.visible_to(actor))


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
    tz = institute_tz_internal(session, actor.institute_scope())
    return datetime.combine(day, time(0), tzinfo=tz)


def _to_row(r) -> FeedbackRow:
    fb: Feedback = r.Feedback
    return carry(
        FeedbackRow,
        fb,
        student=ANONYMOUS if fb.anonymous else (r.student_name or "—"),
        about=about(r),
        teacher=r.teacher_name,
        subject=r.subject_name,
        reviewed_by=r.reviewer_name,
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
    tz = institute_tz_internal(session, actor.institute_scope())
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
    audit.save_audited(session, fb, "feedback.review", actor=actor)
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
    audit.on(session, actor, "feedback.resolve", fb.id)
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
