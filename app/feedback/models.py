"""Feedback from students (with sentiment) and reward/penalty points.

Anonymity by storage, not by display: an anonymous `Feedback` row has `student_id` NULL (a check
constraint enforces it), so no staff query, join or export can return the student. To stop the
same student rating the same target twice in a period, every row carries `dedupe_guard`, an
HMAC-SHA256 of (institute, student, target, period) keyed with the app's secret: one-way, unique
per target and period (it cannot link two rows of one student) and useless without the secret.
Anonymous rows also keep only the day they were given (`created_at` at noon of that local day),
so their time cannot be matched against sign-in or audit times; their audit entry names neither
the student nor the row.

Points follow the seed's Rewards_Penalties: type, category, reason, points (always positive; the
type gives the sign), date, status active → appealed → resolved (upheld or reversed). A reversed
penalty no longer counts in the balance. `source_key` makes automatic grants idempotent
(e.g. `referral:<inquiry id>`).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field

from app.core import clock, models_base  # noqa: F401  (naming convention first)
from app.core.models_base import InstituteRow, one_of


class PointsType(StrEnum):
    REWARD = "reward"
    PENALTY = "penalty"


class PointsCategory(StrEnum):
    ATTENDANCE = "attendance"
    PERFORMANCE = "performance"
    BEHAVIOR = "behavior"
    ASSIGNMENT = "assignment"
    OTHER = "other"


class PointsStatus(StrEnum):
    ACTIVE = "active"
    APPEALED = "appealed"
    RESOLVED = "resolved"


class AppealOutcome(StrEnum):
    UPHELD = "upheld"  # the penalty stands
    REVERSED = "reversed"  # the penalty no longer counts


class PointsEntry(InstituteRow, table=True):
    """One reward or penalty given to a student, with its appeal when there is one."""

    __tablename__ = "points_entries"
    __table_args__ = (
        UniqueConstraint("institute_id", "source_key"),
        Index("ix_points_entries_institute_id_student_id", "institute_id", "student_id", "date"),
        Index("ix_points_entries_institute_id_status", "institute_id", "status"),
        one_of("type", PointsType),
        one_of("category", PointsCategory),
        one_of("status", PointsStatus),
        CheckConstraint("points > 0", name="points_positive"),
        one_of("appeal_outcome", AppealOutcome, nullable=True),
    )

    student_id: int = Field(foreign_key="students.id")
    faculty_id: int | None = Field(default=None, foreign_key="users.id")  # the teacher, if one
    type: str = Field(max_length=10)
    category: str = Field(max_length=20)
    reason: str = Field(max_length=500)
    points: int
    date: date
    created_by: int | None = Field(default=None, foreign_key="users.id")  # None: automatic
    status: str = Field(default=PointsStatus.ACTIVE.value, max_length=10)
    source_key: str | None = Field(default=None, max_length=120)  # idempotency of automatic grants
    appeal_text: str | None = Field(default=None, max_length=2000)
    appealed_at: datetime | None = Field(default=None)
    appeal_outcome: str | None = Field(default=None, max_length=10)
    resolution_note: str | None = Field(default=None, max_length=2000)
    resolved_by: int | None = Field(default=None, foreign_key="users.id")
    resolved_at: datetime | None = Field(default=None)
    created_at: datetime = Field(default_factory=clock.now)
    updated_at: datetime = Field(default_factory=clock.now)


class FeedbackType(StrEnum):
    SESSION = "session"  # one class session (its teacher and subject come from the batch)
    FACULTY = "faculty"  # a teacher in general
    SUBJECT = "subject"  # a subject the student takes (its teaching, its syllabus)
    INSTITUTE = "institute"  # the institute as a whole (timings, fees, communication)
    FACILITY = "facility"  # rooms, equipment, the library, the Wi-Fi…


class Sentiment(StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"


class FeedbackStatus(StrEnum):
    PENDING = "pending"
    REVIEWED = "reviewed"
    RESOLVED = "resolved"


class Feedback(InstituteRow, table=True):
    """A student's 1–5 rating of a session or a teacher, with comment and computed sentiment."""

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("institute_id", "dedupe_guard"),
        Index("ix_feedback_institute_id_created_at", "institute_id", "created_at"),
        Index("ix_feedback_institute_id_faculty_id", "institute_id", "faculty_id"),
        Index("ix_feedback_institute_id_student_id", "institute_id", "student_id"),
        Index("ix_feedback_institute_id_status", "institute_id", "status"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),
        one_of("feedback_type", FeedbackType),
        one_of("sentiment", Sentiment),
        one_of("status", FeedbackStatus),
        # The storage rule behind anonymity: anonymous rows never name the student.
        CheckConstraint(
            "(anonymous AND student_id IS NULL) OR (NOT anonymous AND student_id IS NOT NULL)",
            name="anonymous_has_no_student",
        ),
    )

    student_id: int | None = Field(default=None, foreign_key="students.id")  # NULL if anonymous
    anonymous: bool = Field(default=False)
    dedupe_guard: str = Field(max_length=64)  # HMAC(secret, student+target+period), one-way
    feedback_type: str = Field(max_length=10)
    faculty_id: int | None = Field(default=None, foreign_key="users.id")  # the teacher concerned
    session_id: int | None = Field(default=None, foreign_key="class_sessions.id")
    batch_id: int | None = Field(default=None, foreign_key="batches.id")
    subject_id: int | None = Field(default=None, foreign_key="subjects.id")
    rating: int
    comments: str | None = Field(default=None, max_length=2000)
    sentiment: str = Field(max_length=10)
    sentiment_score: float | None = Field(default=None)  # VADER compound; None: from the rating
    status: str = Field(default=FeedbackStatus.PENDING.value, max_length=10)
    reviewed_by: int | None = Field(default=None, foreign_key="users.id")
    reviewed_at: datetime | None = Field(default=None)
    resolution_note: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(default_factory=clock.now)
    updated_at: datetime = Field(default_factory=clock.now)
