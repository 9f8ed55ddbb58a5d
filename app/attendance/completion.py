"""Enrolment completion %: topics completed or mastered out of the subject's syllabus (archived
topics left out of both), written by one UPDATE — after a class for its students, and daily for
every enrolment of an institute."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Numeric, cast, func, update
from sqlmodel import Session, col, select

from app.academics.models import Enrollment, Topic
from app.attendance.common import DONE_STATUSES
from app.attendance.models import TopicProgress


def enrolment_completion_internal(
    session: Session,
    *,
    institute_id: int,
    subject_id: int | None = None,
    student_ids: list[int] | None = None,
) -> int:
    """Recompute the completion % of an institute's enrolments (only a subject's, only some
    students', when given) in one set-based statement; returns how many changed."""
    if student_ids is not None and not student_ids:
        return 0
    enrolments: Any = Enrollment.__table__  # type: ignore[attr-defined]
    total = (
        select(func.count())
        .select_from(Topic)
        .where(
            Topic.institute_id == institute_id,
            col(Topic.subject_id) == enrolments.c.subject_id,
            col(Topic.archived_at).is_(None),
        )
        .correlate(enrolments)
        .scalar_subquery()
    )
    done = (
        select(func.count())
        .select_from(TopicProgress)
        .join(Topic, col(Topic.id) == TopicProgress.topic_id)
        .where(
            TopicProgress.institute_id == institute_id,
            col(TopicProgress.student_id) == enrolments.c.student_id,
            col(Topic.subject_id) == enrolments.c.subject_id,
            col(Topic.archived_at).is_(None),
            col(TopicProgress.status).in_(sorted(DONE_STATUSES)),
        )
        .correlate(enrolments)
        .scalar_subquery()
    )
    ratio = cast(done, Float) * 100 / func.nullif(total, 0)
    if session.get_bind().dialect.name == "postgresql":
        ratio = cast(ratio, Numeric)  # round(x, 1) takes a numeric there
    pct = func.coalesce(func.round(ratio, 1), 0)
    statement = (
        update(enrolments)
        .where(enrolments.c.institute_id == institute_id, enrolments.c.completion_pct != pct)
        .values(completion_pct=pct)
    )
    if subject_id is not None:
        statement = statement.where(enrolments.c.subject_id == subject_id)
    if student_ids is not None:
        statement = statement.where(enrolments.c.student_id.in_(student_ids))
    changed = session.execute(statement).rowcount  # type: ignore[attr-defined]
    session.expire_all()  # enrolments loaded before now show the new figures
    return int(changed or 0)
