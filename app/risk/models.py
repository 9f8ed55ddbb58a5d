"""The risk engine's own tables: per-institute settings, current profiles, level-change events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core import clock, models_base  # noqa: F401  (naming convention first)

LEVELS = ("LOW", "MEDIUM", "HIGH")


class RiskSettings(SQLModel, table=True):
    """Weights, window and thresholds of one institute (defaults when there is no row)."""

    __tablename__ = "risk_settings"
    __table_args__ = (
        CheckConstraint("window_days BETWEEN 7 AND 365", name="window_days"),
        CheckConstraint("medium_min < low_min", name="thresholds"),
    )

    institute_id: int = Field(foreign_key="institutes.id", primary_key=True)
    window_days: int = Field(default=30)
    weight_attendance: int = Field(default=40)
    weight_homework: int = Field(default=30)
    weight_fees: int = Field(default=20)
    weight_tests: int = Field(default=10)
    low_min: float = Field(default=75)  # score >= low_min → LOW
    medium_min: float = Field(default=50)  # score >= medium_min → MEDIUM, below → HIGH
    attendance_flag_percent: float = Field(default=80)  # below → critical flag
    fee_overdue_flag_days: int = Field(default=60)  # more days overdue → critical flag
    pass_percent: float = Field(default=40)  # a test below this is failed
    updated_by: int | None = Field(default=None, foreign_key="users.id")
    updated_at: datetime | None = Field(default=None)


class StudentRiskProfile(SQLModel, table=True):
    __tablename__ = "student_risk_profiles"
    __table_args__ = (
        UniqueConstraint("institute_id", "student_id"),
        Index("ix_student_risk_profiles_institute_id_level", "institute_id", "level"),
        CheckConstraint("level IN ('LOW', 'MEDIUM', 'HIGH')", name="level"),
        # Room on each page for a profile's next version: rewrites stay heap-only (issue 17).
        {"postgresql_with": {"fillfactor": 60}},
    )

    id: int | None = Field(default=None, primary_key=True)
    institute_id: int = Field(foreign_key="institutes.id")
    student_id: int = Field(foreign_key="students.id")
    score: float | None = Field(default=None)  # None: no data in any factor yet
    level: str = Field(max_length=10)
    attendance: float | None = Field(default=None)  # factor sub-scores 0–100; None = no data
    homework: float | None = Field(default=None)
    fees: float | None = Field(default=None)
    tests: float | None = Field(default=None)
    flags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # When these values were computed; a recompute that finds nothing changed leaves the row
    # (and this time) alone, so the daily pass writes only what moved.
    computed_at: datetime = Field(default_factory=clock.now)
    # Fingerprint of everything the profile shows (inputs, settings, result): equal → unchanged.
    digest: str | None = Field(default=None, max_length=32)


class StudentRiskEvent(SQLModel, table=True):
    """Each change of a student's level (the first computation counts as a change from none)."""

    __tablename__ = "student_risk_events"
    __table_args__ = (
        Index("ix_student_risk_events_institute_id_created_at", "institute_id", "created_at"),
        Index("ix_student_risk_events_institute_id_student_id", "institute_id", "student_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    institute_id: int = Field(foreign_key="institutes.id")
    student_id: int = Field(foreign_key="students.id")
    from_level: str | None = Field(default=None, max_length=10)
    to_level: str = Field(max_length=10)
    score: float | None = Field(default=None)
    created_at: datetime = Field(default_factory=clock.now)
