"""Assessments (quiz, assignment, project, exam, practical): marks for the batch in one table, make-up sittings, results feeding competency."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from app.academics.models import Subject, Topic
from app.attendance import service as attendance_service
from app.core import audit, clock, events
from app.core.errors import NotFound, ValidationError
from app.core.ownership import find_owned
from app.core.rows import carry
from app.core.tenancy import Actor
from app.coursework.common import (
    TEACHING,
    as_date,
    assessment_in_scope,
    batch_in_scope,
    by_student_internal,
    check_table_students,
    check_topic_internal,
    insert_for_current_members,
    number_field,
    open_batch,
    text_field,
    title_field,
    update_student_rows,
)
from app.coursework.grading import grade_for, scale_internal
from app.coursework.models import (
    Assessment,
    AssessmentKind,
    AssessmentResult,
)


def create_assessment(
    session: Session,
    *,
    actor: Actor,
    batch_id: int,
    kind: str,
    title: str,
    max_marks: float,
    held_on: date,
    subject_id: int | None = None,
    topic_id: int | None = None,
) -> Assessment:
    """A quiz, assignment, project, exam or practical for a batch: every current member gets a
    result row to fill in (one bulk insert). The subject defaults to the batch's."""
    actor.require(*TEACHING)
    batch = open_batch(session, actor, batch_id)
    try:
        kind = AssessmentKind(str(kind or "").strip().lower()).value
    except ValueError:
        raise ValidationError(
            "Choose the kind: quiz, assignment, project, exam or practical.", field="kind"
        ) from None
    title = title_field(title)
    max_marks = number_field(max_marks, "Maximum marks")
    if max_marks is None or max_marks <= 0:
        raise ValidationError("Maximum marks must be more than zero.", field="max_marks")
    if held_on is None:
        raise ValidationError("Choose the date it is held.", field="held_on")
    subject_id = subject_id or batch.subject_id
    if find_owned(session, Subject, subject_id, batch.institute_id) is None:
        raise ValidationError("Choose a subject of this institute.", field="subject_id")
    check_topic_internal(session, batch.institute_id, subject_id, topic_id)
    assessment = Assessment(
        institute_id=batch.institute_id,
        batch_id=batch.id,
        subject_id=subject_id,
        topic_id=topic_id,
        kind=kind,
        title=title,
        max_marks=max_marks,
        held_on=held_on,
        created_by=actor.user_id,
    )
    session.add(assessment)
    session.flush()
    students = insert_for_current_members(
        session, batch, AssessmentResult, {"assessment_id": assessment.id, "absent": False}
    )
    audit.on(
        session,
        actor,
        "assessment.create",
        assessment.id,
        {"batch_id": batch.id, "kind": kind, "held_on": str(held_on), "students": students},
    )
    return assessment


@dataclass(frozen=True)
class AssessmentSummary:
    id: int
    kind: str
    title: str
    held_on: date
    max_marks: float
    subject: str | None
    topic: str | None
    students: int
    entered: int
    absent: int
    mean_percent: float | None


def list_assessments(session: Session, *, actor: Actor, batch_id: int) -> list[AssessmentSummary]:
    """A batch's assessments, latest first, with how many results are in and their mean %."""
    actor.require(*TEACHING)
    batch = batch_in_scope(session, actor, batch_id)
    stats = (
        select(
            AssessmentResult.assessment_id,
            func.count().label("students"),
            func.count(AssessmentResult.marks).label("entered"),
            func.sum(case((col(AssessmentResult.absent).is_(True), 1), else_=0)).label("absent"),
            func.avg(AssessmentResult.percentage).label("mean"),
        )
        .where(
            AssessmentResult.institute_id == batch.institute_id,
            col(AssessmentResult.assessment_id).in_(
                select(Assessment.id).where(
                    Assessment.institute_id == batch.institute_id,
                    Assessment.batch_id == batch.id,
                )
            ),
        )
        .group_by(AssessmentResult.assessment_id)
        .subquery()
    )
    rows = session.exec(
        select(
            Assessment,
            Subject.name,
            Topic.name,
            stats.c.students,
            stats.c.entered,
            stats.c.absent,
            stats.c.mean,
        )
        .outerjoin(Subject, Subject.id == Assessment.subject_id)
        .outerjoin(Topic, Topic.id == Assessment.topic_id)
        .outerjoin(stats, stats.c.assessment_id == Assessment.id)
        .where(Assessment.institute_id == batch.institute_id, Assessment.batch_id == batch.id)
        .order_by(col(Assessment.held_on).desc(), col(Assessment.id).desc())
    ).all()
    return [
        carry(
            AssessmentSummary,
            a,
            subject=subject,
            topic=topic,
            students=int(students or 0),
            entered=int(entered or 0),
            absent=int(absent or 0),
            mean_percent=round(float(mean), 2) if mean is not None else None,
        )
        for a, subject, topic, students, entered, absent, mean in rows
    ]


@dataclass(frozen=True)
class ResultRow:
    student_id: int
    student: str
    enrollment_no: str
    scheduled_on: date | None
    marks: float | None
    absent: bool
    percentage: float | None
    grade: str | None
    feedback: str | None


@dataclass(frozen=True)
class ResultSheet:
    assessment: Assessment
    batch: str
    rows: list[ResultRow]
    scale: list[tuple[str, float]] = field(default_factory=list)


def _results(session: Session, assessment: Assessment) -> list[ResultRow]:
    rows = by_student_internal(
        session,
        AssessmentResult,
        AssessmentResult.assessment_id == assessment.id,
        assessment.institute_id,
        AssessmentResult.scheduled_on,
        AssessmentResult.marks,
        AssessmentResult.absent,
        AssessmentResult.percentage,
        AssessmentResult.grade,
        AssessmentResult.feedback,
    )
    return [
        ResultRow(
            student_id=sid,
            student=name,
            enrollment_no=no,
            scheduled_on=scheduled_on,
            marks=marks,
            absent=bool(absent),
            percentage=percentage,
            grade=grade,
            feedback=feedback,
        )
        for sid, name, no, scheduled_on, marks, absent, percentage, grade, feedback in rows
    ]


def assessment_sheet(session: Session, *, actor: Actor, assessment_id: int) -> ResultSheet:
    """The marks table of one assessment: every student with marks, %, grade and feedback."""
    actor.require(*TEACHING)
    assessment, batch = assessment_in_scope(session, actor, assessment_id)
    return ResultSheet(
        assessment=assessment,
        batch=batch.name,
        rows=_results(session, assessment),
        scale=scale_internal(session, assessment.institute_id),
    )


def percentage_of(marks: float, max_marks: float) -> float:
    """Marks as a percentage of the maximum, to 2 decimals."""
    return round(marks / max_marks * 100, 2)


def enter_marks(session: Session, *, actor: Actor, assessment_id: int, rows: list[dict]) -> int:
    """Save the marks of a whole batch in one go: per student marks (or absent) and feedback.
    Percentages and grades follow; every row is checked first and one bad row refuses the table.
    When the assessment has a topic, the new results feed the students' topic progress.
    Returns how many results changed. A row's missing keys keep what was saved."""
    actor.require(*TEACHING)
    assessment, _ = assessment_in_scope(session, actor, assessment_id)
    current = {r.student_id: r for r in _results(session, assessment)}
    check_table_students(
        rows,
        current,
        "who do not sit this assessment; reload the marks table and try again. Nothing was saved.",
    )
    scale = scale_internal(session, assessment.institute_id)
    changes: list[tuple[int, dict]] = []
    for row in rows:
        old = current[row["student_id"]]
        name = old.student
        marks = number_field(row["marks"], f"{name}'s marks") if "marks" in row else old.marks
        absent = bool(row["absent"]) if "absent" in row else old.absent
        feedback = (
            text_field(row["feedback"], 1000, f"{name}'s feedback")
            if "feedback" in row
            else old.feedback
        )
        if absent and marks is not None:
            # The value the teacher just changed wins over the one left from before.
            absent_changed = absent != old.absent
            marks_changed = marks != old.marks
            if absent_changed and not marks_changed:
                marks = None
            elif marks_changed and not absent_changed:
                absent = False
            else:
                raise ValidationError(f"{name} is marked absent and has marks; keep one of them.")
        if marks is not None and not 0 <= marks <= assessment.max_marks:
            raise ValidationError(
                f"{name}: {marks:g} marks is not between 0 and {assessment.max_marks:g}."
            )
        percentage = percentage_of(marks, assessment.max_marks) if marks is not None else None
        new = {
            "marks": marks,
            "absent": absent,
            "percentage": percentage,
            "grade": grade_for(percentage, scale),
            "feedback": feedback,
        }
        if new != {
            "marks": old.marks,
            "absent": old.absent,
            "percentage": old.percentage,
            "grade": old.grade,
            "feedback": old.feedback,
        }:
            changes.append((old.student_id, new))
    if not changes:
        return 0
    update_student_rows(
        session,
        AssessmentResult,
        (
            AssessmentResult.institute_id == assessment.institute_id,
            AssessmentResult.assessment_id == assessment.id,
        ),
        changes,
        {"entered_by": actor.user_id, "entered_at": clock.now()},
    )
    if assessment.topic_id is not None:
        attendance_service.apply_assessment_internal(
            session,
            institute_id=assessment.institute_id,
            topic_id=assessment.topic_id,
            percentages={
                sid: new["percentage"]
                for sid, new in changes
                if new["percentage"] is not None and new["percentage"] != current[sid].percentage
            },
        )
    # Badges whose rules these marks may now meet are awarded at once, not overnight.
    events.publish(
        session,
        events.MarksEntered(
            institute_id=assessment.institute_id,
            assessment_id=assessment.id,
            student_ids=frozenset(sid for sid, _ in changes),
        ),
    )
    audit.on(session, actor, "assessment.marks", assessment.id, {"changed": len(changes)})
    return len(changes)


def schedule_sitting(
    session: Session,
    *,
    actor: Actor,
    assessment_id: int,
    student_id: int,
    scheduled_on: date | None,
) -> AssessmentResult:
    """Give one student another date to sit an assessment (a make-up); None puts them back on
    the assessment's own date. Scheduling a sitting clears an 'absent' mark."""
    actor.require(*TEACHING)
    assessment, _ = assessment_in_scope(session, actor, assessment_id)
    result = session.exec(
        select(AssessmentResult).where(
            AssessmentResult.institute_id == assessment.institute_id,
            AssessmentResult.assessment_id == assessment.id,
            AssessmentResult.student_id == student_id,
        )
    ).first()
    if result is None:
        raise NotFound("That student does not sit this assessment.")
    if result.marks is not None:
        raise ValidationError(
            "This student's marks are already in; clear them before moving their sitting."
        )
    scheduled_on = as_date(scheduled_on, "The sitting date")
    if scheduled_on == assessment.held_on:
        scheduled_on = None
    result.scheduled_on = scheduled_on
    if scheduled_on is not None:
        result.absent = False
    session.add(result)
    session.flush()
    audit.on(
        session,
        actor,
        "assessment.schedule",
        assessment.id,
        {"student_id": student_id, "scheduled_on": str(scheduled_on or "")},
    )
    return result
