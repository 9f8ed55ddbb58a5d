"""Feedback analytics for staff: ratings and sentiment per teacher and per subject, and the themes
(most frequent meaningful words) behind each sentiment. Aggregate SQL over the whole set; no
student appears in any result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, true
from sqlmodel import Session, col, select

from app.academics.models import Student, Subject
from app.core.roles import Role
from app.core.tenancy import Actor
from app.feedback import sentiment as sentiment_mod
from app.feedback.models import Feedback, Sentiment
from app.identity.models import Institute, User

THEME_SAMPLE = 5000  # the latest comments per sentiment read for themes


@dataclass(frozen=True)
class Summary:
    """Ratings and sentiment of one teacher or subject."""

    key: int | None
    name: str
    count: int
    average_rating: float
    positive: int
    neutral: int
    negative: int

    @property
    def negative_share(self) -> float:
        return round(100 * self.negative / self.count, 1) if self.count else 0.0


STAFF_ROLES = (Role.ADMIN, Role.TEACHER, Role.COUNSELOR)


def visible_to(actor: Actor) -> Any:
    """The feedback a member of staff sees and follows up, as a SQL condition: admins all of
    the institute's, a teacher the feedback about them, a counselor the named feedback of the
    students they counsel (anonymous feedback names nobody, so it is never theirs)."""
    actor.require(*STAFF_ROLES)
    institute_id = actor.institute_scope()
    if actor.role == Role.TEACHER:
        return col(Feedback.faculty_id) == actor.user_id
    if actor.role == Role.COUNSELOR:
        return col(Feedback.student_id).in_(
            select(Student.id).where(
                Student.institute_id == institute_id,
                Student.counselor_user_id == actor.user_id,
            )
        )
    return true()


def _filters(session: Session, actor: Actor, since: date | None, until: date | None) -> list:
    institute_id = actor.institute_scope()
    conditions = [Feedback.institute_id == institute_id, visible_to(actor)]
    if since or until:
        institute = session.get(Institute, institute_id)
        tz = ZoneInfo(institute.timezone if institute else "UTC")
        if since:
            conditions.append(Feedback.created_at >= datetime.combine(since, time(0), tzinfo=tz))
        if until:
            end = datetime.combine(until + timedelta(days=1), time(0), tzinfo=tz)
            conditions.append(Feedback.created_at < end)
    return conditions


def _aggregates():
    def count_of(label: Sentiment):
        return func.sum(case((Feedback.sentiment == label.value, 1), else_=0))

    return (
        func.count(Feedback.id),
        func.avg(Feedback.rating),
        count_of(Sentiment.POSITIVE),
        count_of(Sentiment.NEUTRAL),
        count_of(Sentiment.NEGATIVE),
    )


def _summaries(rows) -> list[Summary]:
    out = [
        Summary(
            key=key,
            name=name or "—",
            count=int(n),
            average_rating=round(float(avg or 0), 2),
            positive=int(pos or 0),
            neutral=int(neu or 0),
            negative=int(neg or 0),
        )
        for key, name, n, avg, pos, neu, neg in rows
    ]
    return sorted(out, key=lambda s: (-s.count, s.name))


def by_teacher(
    session: Session, *, actor: Actor, since: date | None = None, until: date | None = None
) -> list[Summary]:
    """Count, average rating and sentiment mix of the feedback about each teacher."""
    conditions = _filters(session, actor, since, until)
    rows = session.exec(
        select(Feedback.faculty_id, User.name, *_aggregates())
        .outerjoin(User, User.id == Feedback.faculty_id)
        .where(*conditions)
        .group_by(Feedback.faculty_id, User.name)
    ).all()
    return _summaries(rows)


def by_subject(
    session: Session, *, actor: Actor, since: date | None = None, until: date | None = None
) -> list[Summary]:
    """Count, average rating and sentiment mix of the feedback per subject."""
    conditions = _filters(session, actor, since, until)
    rows = session.exec(
        select(Feedback.subject_id, Subject.name, *_aggregates())
        .outerjoin(Subject, Subject.id == Feedback.subject_id)
        .where(*conditions)
        .group_by(Feedback.subject_id, Subject.name)
    ).all()
    return _summaries(rows)


def themes_by_sentiment(
    session: Session,
    *,
    actor: Actor,
    since: date | None = None,
    until: date | None = None,
    faculty_id: int | None = None,
    subject_id: int | None = None,
    top: int = 8,
) -> dict[str, list[tuple[str, int]]]:
    """The most frequent meaningful words of the comments of each sentiment."""
    conditions = _filters(session, actor, since, until)
    if faculty_id:
        conditions.append(Feedback.faculty_id == faculty_id)
    if subject_id:
        conditions.append(Feedback.subject_id == subject_id)
    out: dict[str, list[tuple[str, int]]] = {}
    for label in Sentiment:
        comments = session.exec(
            select(Feedback.comments)
            .where(
                *conditions,
                Feedback.sentiment == label.value,
                col(Feedback.comments).is_not(None),
            )
            .order_by(col(Feedback.created_at).desc())
            .limit(THEME_SAMPLE)
        ).all()
        out[label.value] = sentiment_mod.themes(comments, top=top)
    return out


def sentiment_totals(
    session: Session, *, actor: Actor, since: date | None = None, until: date | None = None
) -> Summary:
    """The same figures over all the feedback the actor may see."""
    conditions = _filters(session, actor, since, until)
    row = session.exec(select(*_aggregates()).where(*conditions)).one()
    return _summaries([(None, "All", *row)])[0]
