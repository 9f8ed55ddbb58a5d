"""The AI drafting log: every request to the local model for a homework or quiz draft, per
institute — the prompt, the model's raw answer, whether it could be used, how long it took, and
(once the teacher saves it) the homework or assessment it became.

A draft is only this log row until it is saved; saving creates real coursework through the
coursework service and links it here (`homework_id` or `assessment_id`, `saved_at`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, Text
from sqlmodel import Field

from app.core import clock, models_base  # noqa: F401  (naming convention first)
from app.core.models_base import InstituteRow, one_of


class DraftKind(StrEnum):
    HOMEWORK = "homework"  # questions for homework
    QUIZ = "quiz"  # a short quiz with answers for the teacher


class AiDraft(InstituteRow, table=True):
    __tablename__ = "ai_drafts"
    __table_args__ = (
        Index("ix_ai_drafts_institute_id_user_id_id", "institute_id", "user_id", "id"),
        Index("ix_ai_drafts_institute_id_created_at", "institute_id", "created_at"),
        one_of("kind", DraftKind),
        CheckConstraint("questions > 0", name="questions"),
        CheckConstraint("duration_ms >= 0", name="duration_ms"),
        CheckConstraint("homework_id IS NULL OR assessment_id IS NULL", name="one_target"),
    )

    user_id: int = Field(foreign_key="users.id")
    batch_id: int = Field(foreign_key="batches.id")
    topic_id: int = Field(foreign_key="topics.id")
    kind: str = Field(max_length=10)
    questions: int  # how many questions were asked for
    model: str = Field(max_length=120)
    prompt: str = Field(sa_column=Column(Text, nullable=False))
    raw_output: str | None = Field(default=None, sa_column=Column(Text))
    ok: bool = Field(default=False)
    error: str | None = Field(default=None, max_length=500)
    content: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))  # parsed draft
    duration_ms: int = Field(default=0)
    homework_id: int | None = Field(default=None, foreign_key="homework.id")
    assessment_id: int | None = Field(default=None, foreign_key="assessments.id")
    saved_text: str | None = Field(default=None, sa_column=Column(Text))  # as the teacher saved it
    saved_at: datetime | None = Field(default=None)
    created_at: datetime = Field(default_factory=clock.now)
