"""Pending actions: the action inbox every module writes to."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field

from app.core import clock, models_base  # noqa: F401  (naming convention first)
from app.core.models_base import InstituteRow, one_of


class ActionType(StrEnum):
    STUDENT_RISK = "student_risk"
    MISSED_SESSION = "missed_session"
    ABSENCE_STREAK = "absence_streak"
    FEE_OVERDUE = "fee_overdue"
    BADGE_REQUEST = "badge_request"
    FOLLOW_UP_DUE = "follow_up_due"
    NEGATIVE_FEEDBACK = "negative_feedback"
    EXTRA_CLASS_REQUEST = "extra_class_request"
    ABSENCE_NOTICE = "absence_notice"  # a guardian said (on Telegram) the student will be away


class ActionStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


class Outcome(StrEnum):
    REVIEWED = "reviewed"
    NOTIFIED_GUARDIAN = "notified_guardian"
    RESOLVED = "resolved"
    IGNORED = "ignored"


class PendingAction(InstituteRow, table=True):
    __tablename__ = "pending_actions"
    __table_args__ = (
        UniqueConstraint("institute_id", "dedupe_key"),
        Index("ix_pending_actions_institute_id_status_type", "institute_id", "status", "type"),
        one_of("status", ActionStatus),
    )

    type: str = Field(max_length=30)
    student_id: int | None = Field(default=None, foreign_key="students.id")
    batch_id: int | None = Field(default=None, foreign_key="batches.id")
    session_id: int | None = Field(default=None)
    owner_user_id: int | None = Field(default=None, foreign_key="users.id")
    reason: str
    dedupe_key: str = Field(max_length=200)
    status: str = Field(default=ActionStatus.OPEN.value, max_length=10)
    outcome: str | None = Field(default=None, max_length=30)
    note: str | None = Field(default=None)
    acted_by: int | None = Field(default=None, foreign_key="users.id")
    acted_at: datetime | None = Field(default=None)
    created_at: datetime = Field(default_factory=clock.now)
