"""The Ops desk's history: each staff member's requests and the desk's replies, per institute.

A reply that proposes an action (a preview) carries what it will do in `payload` and stays
`pending` until its author confirms or cancels it, or asks something else (then `expired`). A
clarifying question is `open` until answered. Other replies have no status.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field

from app.core import clock, models_base  # noqa: F401  (naming convention first)
from app.core.models_base import InstituteRow, one_of


class Author(StrEnum):
    USER = "user"
    DESK = "desk"


class Kind(StrEnum):
    REQUEST = "request"  # what the user typed
    PREVIEW = "preview"  # an action the desk will take after Confirm
    QUESTION = "question"  # the desk needs one more detail
    ANSWER = "answer"  # a read (risk list, student summary) or help
    RESULT = "result"  # what a confirmed action did
    ERROR = "error"  # a refusal or failure, with the reason
    MODEL = "model"  # free text from the local model (never an action)


class DeskStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"
    EXPIRED = "expired"
    OPEN = "open"  # a question awaiting its answer
    ANSWERED = "answered"


class DeskMessage(InstituteRow, table=True):
    __tablename__ = "ops_desk_messages"
    __table_args__ = (
        Index("ix_ops_desk_messages_institute_id_user_id_id", "institute_id", "user_id", "id"),
        one_of("author", Author),
        one_of("kind", Kind),
        one_of("status", DeskStatus, nullable=True),
    )

    user_id: int = Field(foreign_key="users.id")
    author: str = Field(max_length=10)
    kind: str = Field(max_length=10)
    intent: str | None = Field(default=None, max_length=40)
    text: str = Field(max_length=8000)
    rows: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    payload: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    status: str | None = Field(default=None, max_length=10)
    acted_at: datetime | None = Field(default=None)
    created_at: datetime = Field(default_factory=clock.now)
