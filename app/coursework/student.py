"""A student's own homework and results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.academics import service as academics
from app.academics.models import Batch, Subject, Topic
from app.core.rows import carry
from app.core.tenancy import Actor
from app.coursework.assessments import percentage_of
from app.coursework.models import (
    Assessment,
    AssessmentResult,
    Homework,
    HomeworkSubmission,
    SubmissionStatus,
)


@dataclass(frozen=True)
class MyHomework:
    id: int
    title: str
    instructions: str
    batch: str
    subject: str
    topic: str | None
    assigned_on: date
    due_on: date
    status: str
    on_time: bool
    submitted_on: date | None
    marks: float | None
    max_marks: float | None
    comment: str | None

    @property
    def open(self) -> bool:
        """Still to hand in (the due date has not passed)."""
        return self.status == SubmissionStatus.ASSIGNED.value


def my_homework(
    session: Session, *, actor: Actor, open_only: bool = False, limit: int = 300
) -> list[MyHomework]:
    """The signed-in student's homework, what is still to hand in first (soonest due), then the
    rest newest first, with marks and the teacher's comment. One indexed query."""
    return academics.for_my_student(
        session, actor, homework_of_internal, open_only=open_only, limit=limit
    )


def homework_of_internal(
    session: Session,
    *,
    institute_id: int,
    student_id: int | None,
    open_only: bool = False,
    limit: int = 300,
) -> list[MyHomework]:
    """One student's homework as `my_homework` lists it (for a guardian's question on
    Telegram, once the caller has proven who the guardian is)."""
    query = (
        select(HomeworkSubmission, Homework, Batch.name, Subject.name, Topic.name)
        .join(Homework, Homework.id == HomeworkSubmission.homework_id)
        .join(Batch, Batch.id == Homework.batch_id)
        .join(Subject, Subject.id == Batch.subject_id)
        .outerjoin(Topic, Topic.id == Homework.topic_id)
        .where(
            HomeworkSubmission.institute_id == institute_id,
            HomeworkSubmission.student_id == student_id,
        )
    )
    if open_only:
        query = query.where(HomeworkSubmission.status == SubmissionStatus.ASSIGNED.value)
    rows = session.exec(query.order_by(col(Homework.due_on).desc()).limit(limit)).all()
    items = [
        carry(
            MyHomework,
            hw,
            batch=batch,
            subject=subject,
            topic=topic,
            status=sub.status,
            on_time=sub.on_time,
            submitted_on=sub.submitted_on,
            marks=sub.marks,
            comment=sub.comment,
        )
        for sub, hw, batch, subject, topic in rows
    ]
    still_open = sorted((h for h in items if h.open), key=lambda h: (h.due_on, h.id))
    return still_open + [h for h in items if not h.open]


@dataclass(frozen=True)
class MyResult:
    date: date
    kind: str
    title: str
    batch: str
    subject: str | None
    marks: float | None
    max_marks: float
    percentage: float | None
    grade: str | None
    absent: bool
    feedback: str | None

    @property
    def upcoming(self) -> bool:
        """Not sat yet: no marks and not absent."""
        return self.marks is None and not self.absent


def my_results(session: Session, *, actor: Actor) -> list[MyResult]:
    """The signed-in student's tests and assessments: marks, percentage, grade and feedback,
    newest first (those still to sit included). One indexed query."""
    student = academics.my_student(session, actor=actor)
    sat_on = func.coalesce(AssessmentResult.scheduled_on, Assessment.held_on)
    rows = session.exec(
        select(sat_on, Assessment, AssessmentResult, Batch.name, Subject.name)
        .join(Assessment, Assessment.id == AssessmentResult.assessment_id)
        .join(Batch, Batch.id == Assessment.batch_id)
        .outerjoin(Subject, Subject.id == Assessment.subject_id)
        .where(
            AssessmentResult.institute_id == student.institute_id,
            AssessmentResult.student_id == student.id,
        )
        .order_by(sat_on.desc(), col(Assessment.id).desc())
    ).all()
    return [
        MyResult(
            date=day,
            kind=a.kind,
            title=a.title,
            batch=batch,
            subject=subject,
            marks=r.marks,
            max_marks=a.max_marks,
            percentage=r.percentage
            if r.percentage is not None or r.marks is None
            else percentage_of(r.marks, a.max_marks),
            grade=r.grade,
            absent=bool(r.absent),
            feedback=r.feedback,
        )
        for day, a, r, batch, subject in rows
    ]
