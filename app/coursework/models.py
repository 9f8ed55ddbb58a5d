"""Homework with per-student submissions; assessments with per-student results; grade scales."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field

from app.core import clock, models_base  # noqa: F401  (naming convention first)
from app.core.models_base import InstituteRow, one_of


class SubmissionStatus(StrEnum):
    ASSIGNED = "assigned"  # not handed in yet, due date not passed
    SUBMITTED = "submitted"  # handed in on time
    LATE = "late"  # handed in after the due date
    MISSING = "missing"  # not handed in by the due date (set by the worker the day after)
    GRADED = "graded"  # marked by the teacher (on_time says whether it came in on time)


class AssessmentKind(StrEnum):
    QUIZ = "quiz"
    ASSIGNMENT = "assignment"
    PROJECT = "project"
    EXAM = "exam"
    PRACTICAL = "practical"


class Homework(InstituteRow, table=True):
    __tablename__ = "homework"
    __table_args__ = (
        Index("ix_homework_institute_id_batch_id_due_on", "institute_id", "batch_id", "due_on"),
        Index("ix_homework_institute_id_due_on", "institute_id", "due_on"),
        CheckConstraint("due_on >= assigned_on", name="dates"),
        CheckConstraint("max_marks IS NULL OR max_marks > 0", name="max_marks"),
    )

    batch_id: int = Field(foreign_key="batches.id")
    topic_id: int | None = Field(default=None, foreign_key="topics.id")
    title: str = Field(max_length=200)
    instructions: str = Field(default="")
    assigned_on: date
    due_on: date  # due by the end of this day, institute time
    max_marks: float | None = Field(default=None)
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=clock.now)


class HomeworkSubmission(InstituteRow, table=True):
    """One row per student per homework, created with the homework for every batch member."""

    __tablename__ = "homework_submissions"
    __table_args__ = (
        UniqueConstraint("institute_id", "homework_id", "student_id"),
        Index(
            "ix_homework_submissions_institute_id_student_id",
            "institute_id",
            "student_id",
            "homework_id",
        ),
        one_of("status", SubmissionStatus),
    )

    homework_id: int = Field(foreign_key="homework.id")
    student_id: int = Field(foreign_key="students.id")
    status: str = Field(default=SubmissionStatus.ASSIGNED.value, max_length=12)
    submitted_on: date | None = Field(default=None)
    on_time: bool = Field(default=False)
    marks: float | None = Field(default=None)
    comment: str | None = Field(default=None, max_length=1000)
    updated_by: int | None = Field(default=None, foreign_key="users.id")
    updated_at: datetime | None = Field(default=None)
    # What the student handed in themselves (text, and files in HandInFile), when, and how many
    # times (a hand-in may be replaced until the teacher marks it).
    hand_in_text: str | None = Field(default=None, max_length=5000)
    handed_in_at: datetime | None = Field(default=None)
    hand_ins: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class HandInFile(InstituteRow, table=True):
    """A file a student handed in with their homework, kept in the materials storage."""

    __tablename__ = "hand_in_files"
    __table_args__ = (
        UniqueConstraint("storage_key"),
        Index("ix_hand_in_files_institute_id_submission_id", "institute_id", "submission_id"),
    )

    submission_id: int = Field(foreign_key="homework_submissions.id")
    original_name: str = Field(max_length=255)
    size_bytes: int
    content_type: str = Field(max_length=100)
    sha256: str = Field(max_length=64)
    storage_key: str = Field(max_length=200)
    uploaded_at: datetime = Field(default_factory=clock.now)


class Assessment(InstituteRow, table=True):
    __tablename__ = "assessments"
    __table_args__ = (
        Index(
            "ix_assessments_institute_id_batch_id_held_on", "institute_id", "batch_id", "held_on"
        ),
        Index("ix_assessments_institute_id_held_on", "institute_id", "held_on"),
        one_of("kind", AssessmentKind),
        CheckConstraint("max_marks > 0", name="max_marks"),
    )

    batch_id: int = Field(foreign_key="batches.id")
    subject_id: int | None = Field(default=None, foreign_key="subjects.id")
    topic_id: int | None = Field(default=None, foreign_key="topics.id")
    kind: str = Field(max_length=12)
    title: str = Field(max_length=200)
    max_marks: float
    held_on: date
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=clock.now)


class AssessmentResult(InstituteRow, table=True):
    """A student's result; `scheduled_on` moves one student's sitting (a make-up exam)."""

    __tablename__ = "assessment_results"
    __table_args__ = (
        UniqueConstraint("institute_id", "assessment_id", "student_id"),
        Index(
            "ix_assessment_results_institute_id_student_id",
            "institute_id",
            "student_id",
            "assessment_id",
        ),
        CheckConstraint("marks IS NULL OR marks >= 0", name="marks"),
    )

    assessment_id: int = Field(foreign_key="assessments.id")
    student_id: int = Field(foreign_key="students.id")
    scheduled_on: date | None = Field(default=None)
    marks: float | None = Field(default=None)
    percentage: float | None = Field(default=None)
    grade: str | None = Field(default=None, max_length=10)
    absent: bool = Field(default=False)
    feedback: str | None = Field(default=None, max_length=1000)
    entered_by: int | None = Field(default=None, foreign_key="users.id")
    entered_at: datetime | None = Field(default=None)


class GradeBand(InstituteRow, table=True):
    """The institute's grade scale: a percentage at or above `min_percent` earns `grade`."""

    __tablename__ = "grade_bands"
    __table_args__ = (
        UniqueConstraint("institute_id", "grade"),
        UniqueConstraint("institute_id", "min_percent"),
        CheckConstraint("min_percent >= 0 AND min_percent <= 100", name="min_percent"),
    )

    grade: str = Field(max_length=10)
    min_percent: float
