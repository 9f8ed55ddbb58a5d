"""Class sessions, attendance marks, topic progress and one-time attendance links."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field

from app.core import clock, models_base  # noqa: F401  (naming convention first)
from app.core.models_base import InstituteRow, one_of
from app.core.statuses import RequestStatus


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    SUBMITTED = "submitted"
    CLOSED = "closed"
    MISSED = "missed"
    CANCELLED = "cancelled"  # not held: a holiday or a cancelled class (cancel_reason says why)
    RESCHEDULED = "rescheduled"  # not held here: moved to rescheduled_to_id


# Sessions that did not take place: never counted in attendance, risk, utilization or "missed".
NOT_HELD = (SessionStatus.CANCELLED.value, SessionStatus.RESCHEDULED.value)


class Mark(StrEnum):
    PRESENT = "present"
    ABSENT = "absent"
    LATE = "late"
    EXCUSED = "excused"
    NO_SHOW = "no_show"  # one-to-one sessions only; counts as an absence


# Marks that are an absence (guardian told, streaks, "absent yesterday", attendance %).
ABSENT_MARKS = (Mark.ABSENT.value, Mark.NO_SHOW.value)


class ClassSession(InstituteRow, table=True):
    __tablename__ = "class_sessions"
    __table_args__ = (
        UniqueConstraint("institute_id", "batch_id", "starts_at"),
        Index("ix_class_sessions_institute_id_date", "institute_id", "date"),
        Index("ix_class_sessions_status_ends_at", "status", "ends_at"),
        one_of("status", SessionStatus),
    )

    batch_id: int = Field(foreign_key="batches.id")
    schedule_id: int | None = Field(default=None, foreign_key="batch_schedules.id")
    date: date  # in the institute's timezone
    starts_at: datetime
    ends_at: datetime
    status: str = Field(default=SessionStatus.SCHEDULED.value, max_length=20)
    topics_covered: list[int] | None = Field(default=None, sa_column=Column(JSON))
    notes: str | None = Field(default=None)
    submitted_by: int | None = Field(default=None, foreign_key="users.id")
    submitted_at: datetime | None = Field(default=None)
    version: int = Field(default=0)  # bumped by every submission: two submitters cannot both win
    # Why a cancelled or rescheduled class is not held (told to students and guardians).
    cancel_reason: str | None = Field(default=None, max_length=500)
    rescheduled_to_id: int | None = Field(default=None, foreign_key="class_sessions.id")


class AttendanceRecord(InstituteRow, table=True):
    __tablename__ = "attendance_records"
    __table_args__ = (
        UniqueConstraint("institute_id", "session_id", "student_id"),
        Index(
            "ix_attendance_records_institute_id_student_id",
            "institute_id",
            "student_id",
            "session_id",
        ),
        one_of("status", Mark),
    )

    session_id: int = Field(foreign_key="class_sessions.id")
    student_id: int = Field(foreign_key="students.id")
    status: str = Field(max_length=10)
    understanding: int | None = Field(default=None)
    note: str | None = Field(default=None, max_length=500)


class TopicProgress(InstituteRow, table=True):
    __tablename__ = "topic_progress"
    __table_args__ = (UniqueConstraint("institute_id", "student_id", "topic_id"),)

    student_id: int = Field(foreign_key="students.id")
    topic_id: int = Field(foreign_key="topics.id")
    competency: float = Field(default=0)  # 0–5
    status: str = Field(default="not_started", max_length=20)
    minutes_spent: int = Field(default=0)
    sessions_count: int = Field(default=0)
    last_session_at: datetime | None = Field(default=None)
    # When the topic first reached completed or mastered (kept if it later needs review):
    # what "topics completed over time" and learning velocity are read from.
    completed_at: datetime | None = Field(default=None)


class AttendanceLink(InstituteRow, table=True):
    """A one-time, expiring link to one session's sheet (sent to the teacher by Telegram)."""

    __tablename__ = "attendance_links"
    __table_args__ = (UniqueConstraint("token_hash"),)

    session_id: int = Field(foreign_key="class_sessions.id")
    token_hash: str = Field(max_length=64)
    created_for: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=clock.now)
    expires_at: datetime
    used_at: datetime | None = Field(default=None)


class Holiday(InstituteRow, table=True):
    """A day without classes: for the whole institute (batch_id NULL) or one batch (one row per
    batch). Sessions are not generated on it; those already created are cancelled."""

    __tablename__ = "holidays"
    __table_args__ = (
        Index("ix_holidays_institute_id_date", "institute_id", "date"),
        # The same holiday cannot be entered twice: once per day for the whole institute, once
        # per day and batch for one batch.
        Index(
            "uq_holidays_institute_id_date_all",
            "institute_id",
            "date",
            unique=True,
            sqlite_where=text("batch_id IS NULL"),
            postgresql_where=text("batch_id IS NULL"),
        ),
        Index(
            "uq_holidays_institute_id_date_batch_id",
            "institute_id",
            "date",
            "batch_id",
            unique=True,
            sqlite_where=text("batch_id IS NOT NULL"),
            postgresql_where=text("batch_id IS NOT NULL"),
        ),
    )

    date: date
    name: str = Field(max_length=200)
    batch_id: int | None = Field(default=None, foreign_key="batches.id")
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=clock.now)


class ExtraClassRequest(InstituteRow, table=True):
    """A teacher asks for an extra class of their batch; an admin approves it in the inbox."""

    __tablename__ = "extra_class_requests"
    __table_args__ = (
        Index("ix_extra_class_requests_institute_id_status", "institute_id", "status"),
        one_of("status", RequestStatus),
    )

    batch_id: int = Field(foreign_key="batches.id")
    requested_by: int = Field(foreign_key="users.id")
    date: date
    start_time: time
    duration_minutes: int
    reason: str = Field(max_length=500)
    status: str = Field(default=RequestStatus.PENDING.value, max_length=10)
    decided_by: int | None = Field(default=None, foreign_key="users.id")
    decided_at: datetime | None = Field(default=None)
    decision_note: str | None = Field(default=None, max_length=500)
    session_id: int | None = Field(default=None, foreign_key="class_sessions.id")
    created_at: datetime = Field(default_factory=clock.now)
