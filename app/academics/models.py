"""People and academics: students, guardians, teacher profiles, syllabus, batches, schedules."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Column, Index, UniqueConstraint, text, true
from sqlmodel import Field

from app.core import clock, models_base  # noqa: F401  (naming convention first)
from app.core.models_base import InstituteRow, one_of


class StudentStatus(StrEnum):
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    COMPLETED = "completed"
    DROPPED = "dropped"
    GRADUATED = "graduated"


class BatchType(StrEnum):
    REGULAR = "regular"
    WORKSHOP = "workshop"
    PROJECT = "project"
    INDIVIDUAL = "individual"


class Student(InstituteRow, table=True):
    __tablename__ = "students"
    __table_args__ = (
        UniqueConstraint("institute_id", "enrollment_no"),
        Index("ix_students_institute_id_status", "institute_id", "status"),
        Index("ix_students_institute_id_user_id", "institute_id", "user_id"),
        one_of("status", StudentStatus),
    )

    user_id: int | None = Field(
        default=None, foreign_key="users.id"
    )  # their sign-in, when they have one
    enrollment_no: str = Field(max_length=40)
    name: str = Field(max_length=200)
    phone: str | None = Field(default=None, max_length=20)
    email: str | None = Field(default=None, max_length=254)
    date_of_birth: date | None = Field(default=None)
    status: str = Field(default=StudentStatus.ACTIVE.value, max_length=20)
    learning_style: str | None = Field(default=None, max_length=40)
    counselor_user_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=clock.now)


class Guardian(InstituteRow, table=True):
    __tablename__ = "guardians"
    __table_args__ = (
        Index("ix_guardians_institute_id_student_id", "institute_id", "student_id"),
        Index("ix_guardians_telegram_chat_id", "telegram_chat_id"),
    )

    student_id: int = Field(foreign_key="students.id")
    name: str = Field(max_length=200)
    phone: str | None = Field(default=None, max_length=20)
    telegram_chat_id: str | None = Field(default=None, max_length=64)
    relationship: str = Field(default="guardian", max_length=40)
    # The monthly progress report on Telegram (reports home); a guardian may opt out.
    progress_reports: bool = Field(default=True, sa_column_kwargs={"server_default": true()})


class TeacherProfile(InstituteRow, table=True):
    __tablename__ = "teacher_profiles"
    __table_args__ = (UniqueConstraint("institute_id", "user_id"),)

    user_id: int = Field(foreign_key="users.id")
    specialization: str | None = Field(default=None, max_length=200)
    hourly_rate_minor: int | None = Field(default=None)
    max_hours_per_day: int | None = Field(default=None)


class Subject(InstituteRow, table=True):
    __tablename__ = "subjects"
    __table_args__ = (
        UniqueConstraint("institute_id", "name"),
        Index(
            "uq_subjects_institute_id_code",
            "institute_id",
            "code",
            unique=True,
            sqlite_where=text("code IS NOT NULL"),
            postgresql_where=text("code IS NOT NULL"),
        ),
    )

    name: str = Field(max_length=120)
    code: str | None = Field(
        default=None, max_length=20
    )  # stored in capitals, unique per institute
    # Archived: hidden from pickers, kept (with its topics) for the attendance and marks it has.
    archived_at: datetime | None = Field(default=None)


class Topic(InstituteRow, table=True):
    __tablename__ = "topics"
    __table_args__ = (
        Index(
            "ix_topics_institute_id_subject_id_position", "institute_id", "subject_id", "position"
        ),
    )

    subject_id: int = Field(foreign_key="subjects.id")
    name: str = Field(max_length=200)
    position: int = Field(default=0)
    estimated_minutes: int = Field(default=60)
    difficulty: int = Field(default=3)  # 1 (easy) … 5 (hard)
    prerequisites: list[int] | None = Field(default=None, sa_column=Column(JSON))
    objectives: str | None = Field(
        default=None, max_length=2000
    )  # what a student will be able to do
    # Archived: hidden from pickers and suggestions, kept for the attendance and marks it has.
    archived_at: datetime | None = Field(default=None)


class Batch(InstituteRow, table=True):
    __tablename__ = "batches"
    __table_args__ = (
        UniqueConstraint("institute_id", "name"),
        Index("ix_batches_institute_id_teacher_user_id", "institute_id", "teacher_user_id"),
        one_of("type", BatchType),
    )

    name: str = Field(max_length=120)
    subject_id: int = Field(foreign_key="subjects.id")
    teacher_user_id: int | None = Field(default=None, foreign_key="users.id")
    level: str | None = Field(default=None, max_length=40)
    type: str = Field(default=BatchType.REGULAR.value, max_length=20)
    capacity: int | None = Field(default=None)
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=clock.now)


class BatchSchedule(InstituteRow, table=True):
    __tablename__ = "batch_schedules"
    __table_args__ = (
        Index("ix_batch_schedules_institute_id_weekday", "institute_id", "weekday"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("duration_minutes > 0", name="duration"),
    )

    batch_id: int = Field(foreign_key="batches.id")
    weekday: int  # 0 = Monday
    start_time: time
    duration_minutes: int = Field(default=60)
    active: bool = Field(default=True)


class BatchMembership(InstituteRow, table=True):
    """A student's time in a batch; left_on NULL means a current member. History is kept."""

    __tablename__ = "batch_memberships"
    __table_args__ = (
        Index("ix_batch_memberships_institute_id_batch_id", "institute_id", "batch_id"),
        Index("ix_batch_memberships_institute_id_student_id", "institute_id", "student_id"),
        Index(
            "uq_batch_memberships_active",
            "institute_id",
            "batch_id",
            "student_id",
            unique=True,
            sqlite_where=text("left_on IS NULL"),
            postgresql_where=text("left_on IS NULL"),
        ),
    )

    batch_id: int = Field(foreign_key="batches.id")
    student_id: int = Field(foreign_key="students.id")
    joined_on: date
    left_on: date | None = Field(default=None)


class EnrollmentStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    DROPPED = "dropped"
    COMPLETED = "completed"


class Enrollment(InstituteRow, table=True):
    """A student's enrolment in a subject. Joining a batch creates (or reactivates) it; its
    status moves active ⇄ paused, → dropped or completed, with the day and the reason of the
    last change (every change is in the audit log)."""

    __tablename__ = "enrollments"
    __table_args__ = (
        UniqueConstraint("institute_id", "student_id", "subject_id"),
        one_of("status", EnrollmentStatus),
    )

    student_id: int = Field(foreign_key="students.id")
    subject_id: int = Field(foreign_key="subjects.id")
    started_on: date
    expected_completion: date | None = Field(default=None)
    completion_pct: float = Field(default=0)
    status: str = Field(default=EnrollmentStatus.ACTIVE.value, max_length=20)
    teacher_user_id: int | None = Field(default=None, foreign_key="users.id")
    status_changed_on: date | None = Field(default=None)  # the day of the last status change
    status_reason: str | None = Field(default=None, max_length=300)
    completed_on: date | None = Field(default=None)
