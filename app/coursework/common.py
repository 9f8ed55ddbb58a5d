"""What the coursework modules share: who teaches, the batch and member checks, dates and numbers as people type them."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, insert, literal, update
from sqlmodel import Session, col, select

from app.academics import service as academics
from app.academics.common import current_members
from app.academics.models import Batch, Student, Topic
from app.core import clock
from app.core.errors import ValidationError
from app.core.ownership import find_owned, get_owned
from app.core.roles import Role
from app.core.tenancy import Actor
from app.coursework.models import (
    Assessment,
    AssessmentResult,
    Homework,
    HomeworkSubmission,
    SubmissionStatus,
)
from app.identity.models import Institute

# A student's row of one piece of work: a homework hand-in or an assessment result.
StudentWorkRow = HomeworkSubmission | AssessmentResult

DEFAULT_SCALE: tuple[tuple[str, float], ...] = (
    ("A+", 90),
    ("A", 80),
    ("B", 70),
    ("C", 60),
    ("D", 50),
    ("E", 40),
    ("F", 0),
)


TEACHING = (Role.ADMIN, Role.TEACHER)


STAFF = (Role.ADMIN, Role.TEACHER, Role.COUNSELOR)


HANDED_IN = (
    SubmissionStatus.SUBMITTED.value,
    SubmissionStatus.LATE.value,
    SubmissionStatus.GRADED.value,
)


def today_internal(session: Session, institute_id: int) -> date:
    return clock.today_in(session.get(Institute, institute_id).timezone)


def batch_in_scope(session: Session, actor: Actor, batch_id: int) -> Batch:
    return academics.taught_batch(session, actor=actor, batch_id=batch_id)


def open_batch(session: Session, actor: Actor, batch_id: int) -> Batch:
    batch = batch_in_scope(session, actor, batch_id)
    if not batch.active:
        raise ValidationError(f"{batch.name} is closed; reopen it before setting work.")
    return batch


def homework_in_scope(session: Session, actor: Actor, homework_id: int) -> tuple[Homework, Batch]:
    homework = get_owned(session, Homework, actor, homework_id, "homework")
    return homework, batch_in_scope(session, actor, homework.batch_id)


def assessment_in_scope(
    session: Session, actor: Actor, assessment_id: int
) -> tuple[Assessment, Batch]:
    assessment = get_owned(session, Assessment, actor, assessment_id, "assessment")
    return assessment, batch_in_scope(session, actor, assessment.batch_id)


def check_topic_internal(
    session: Session, institute_id: int, subject_id: int, topic_id: int | None
) -> Topic | None:
    if topic_id is None:
        return None
    topic = find_owned(session, Topic, topic_id, institute_id)
    if topic is None or topic.subject_id != subject_id:
        raise ValidationError("Choose a topic from the subject's syllabus.", field="topic_id")
    return topic


def title_field(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise ValidationError("Give it a title.", field="title")
    if len(title) > 200:
        raise ValidationError("The title is longer than 200 characters.", field="title")
    return title


def number_field(value, what: str) -> float | None:
    """A mark from a form or table: None/empty/NaN is no mark; anything else must be a number."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{what}: '{value}' is not a number.") from None
    return None if math.isnan(number) else number


def as_date(value, what: str) -> date | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ValidationError(f"{what}: '{value}' is not a date.") from None


def text_field(value, limit: int, what: str) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    if len(text) > limit:
        raise ValidationError(f"{what} is longer than {limit} characters.")
    return text or None


def batch_topics(
    session: Session, *, actor: Actor, batch_id: int, subject_id: int | None = None
) -> list[Topic]:
    """The syllabus of a batch's subject (or of another subject the batch is tested on), to
    choose the topic of homework or a test (archived topics left out)."""
    actor.require(*TEACHING)
    batch = batch_in_scope(session, actor, batch_id)
    return list(
        session.exec(
            select(Topic)
            .where(
                Topic.institute_id == batch.institute_id,
                Topic.subject_id == (subject_id or batch.subject_id),
                col(Topic.archived_at).is_(None),
            )
            .order_by(Topic.position)
        )
    )


def _has_row(row: Any, of_work: Any, institute_id: int, joiners: Any) -> Any:
    """Whether a joiner already has a `row` (a submission or a result) for the work `of_work`
    ties it to, in the institute."""
    return (
        select(row.id)
        .where(row.institute_id == institute_id, of_work, row.student_id == joiners.c.student_id)
        .exists()
    )


def by_student_internal(
    session: Session, row: Any, of_work: Any, institute_id: int, *columns: Any
) -> list[Any]:
    """Every student's `row` (a submission or a result) for the work `of_work` ties it to, by
    name: the student's id, name and enrolment number, then `columns`."""
    return list(
        session.exec(
            select(row.student_id, Student.name, Student.enrollment_no, *columns)
            .join(Student, col(Student.id) == row.student_id)
            .where(row.institute_id == institute_id, of_work)
            .order_by(col(Student.name), col(Student.id))
        ).all()
    )


def give_open_work_internal(
    session: Session, *, institute_id: int, batch_id: int, student_ids: list[int], on: date
) -> tuple[int, int]:
    """Students joining a batch get its homework not yet due and its assessments not yet held
    (empty rows to fill in, as the others got when the work was set), so they are marked,
    chased and counted like everyone else. Work they already have a row for is left alone.
    Returns (homework rows, assessment rows) added. Called by academics when students join."""
    if not student_ids:
        return 0, 0
    joiners = (
        select(Student.id.label("student_id"))
        .where(Student.institute_id == institute_id, col(Student.id).in_(student_ids))
        .subquery()
    )
    has_row = _has_row(
        HomeworkSubmission, HomeworkSubmission.homework_id == Homework.id, institute_id, joiners
    )
    homework = session.execute(
        insert(HomeworkSubmission).from_select(
            ["institute_id", "homework_id", "student_id", "status", "on_time"],
            select(
                literal(institute_id),
                Homework.id,
                joiners.c.student_id,
                literal(SubmissionStatus.ASSIGNED.value),
                literal(False),
            )
            .select_from(Homework)
            .join(joiners, literal(True))
            .where(
                Homework.institute_id == institute_id,
                Homework.batch_id == batch_id,
                Homework.due_on >= on,
                ~has_row,
            ),
        )
    ).rowcount
    has_result = _has_row(
        AssessmentResult, AssessmentResult.assessment_id == Assessment.id, institute_id, joiners
    )
    results = session.execute(
        insert(AssessmentResult).from_select(
            ["institute_id", "assessment_id", "student_id", "absent"],
            select(literal(institute_id), Assessment.id, joiners.c.student_id, literal(False))
            .select_from(Assessment)
            .join(joiners, literal(True))
            .where(
                Assessment.institute_id == institute_id,
                Assessment.batch_id == batch_id,
                Assessment.held_on >= on,
                ~has_result,
            ),
        )
    ).rowcount
    session.flush()
    return homework, results


def insert_for_current_members(
    session: Session, batch: Batch, table: type[StudentWorkRow], columns: dict[str, object]
) -> int:
    """One row of `table` per current member of the batch, with `columns` fixed for all of
    them (institute and student filled in). Returns how many rows were added."""
    members = current_members(batch.institute_id, batch.id).subquery()
    added = session.execute(
        insert(table).from_select(
            ["institute_id", *columns, "student_id"],
            select(
                literal(batch.institute_id),
                *(literal(value) for value in columns.values()),
                members.c.student_id,
            ),
        )
    ).rowcount
    session.flush()
    return int(added)


def check_table_students(
    rows: list[dict[str, Any]], current: dict[int, Any], strangers_are: str
) -> None:
    """A marks table names each student of `current` at most once and no one else;
    `strangers_are` ends the refusal for rows of other students."""
    seen: set[object] = set()
    strangers = 0
    for row in rows:
        student_id = row.get("student_id")
        if student_id not in current:
            strangers += 1
        elif student_id in seen:
            raise ValidationError(f"{current[student_id].student} appears twice in the table.")
        seen.add(student_id)
    if strangers:
        raise ValidationError(
            f"{strangers} row{'s are' if strangers > 1 else ' is'} for students {strangers_are}"
        )


def update_student_rows(
    session: Session,
    table: type[StudentWorkRow],
    owned_by: tuple[ColumnElement[bool], ...],
    changes: list[tuple[int, dict[str, Any]]],
    stamp: dict[str, Any],
) -> None:
    """Write each student's new values, and the `stamp` (who and when), to their row of
    `table` among the rows that match the `owned_by` conditions (one homework or test)."""
    ids = dict(
        session.exec(
            select(table.student_id, table.id).where(
                *owned_by, col(table.student_id).in_([sid for sid, _ in changes])
            )
        ).all()
    )
    session.execute(update(table), [{"id": ids[sid], **new, **stamp} for sid, new in changes])
    session.flush()
