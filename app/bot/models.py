"""Link codes (a deep link that ties a Telegram chat to a person) and the updates received."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from app.core import clock, models_base  # noqa: F401  (naming convention first)
from app.core.models_base import InstituteRow


class TelegramLinkCode(InstituteRow, table=True):
    """A single-use code in `https://t.me/<bot>?start=<code>` for one user or one guardian.

    Only the code's SHA-256 is stored; it expires after a day and works once."""

    __tablename__ = "telegram_link_codes"
    __table_args__ = (
        Index("ix_telegram_link_codes_institute_id_created_at", "institute_id", "created_at"),
    )

    user_id: int | None = Field(default=None, foreign_key="users.id")
    guardian_id: int | None = Field(default=None, foreign_key="guardians.id")
    code_hash: str = Field(max_length=64, unique=True)
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=clock.now)
    expires_at: datetime
    used_at: datetime | None = Field(default=None)


class TelegramUpdate(SQLModel, table=True):
    """One update from Telegram, kept so each is processed once (its update_id is the key),
    whether it came by long polling or by webhook, and whichever worker received it."""

    __tablename__ = "telegram_updates"
    __table_args__ = (Index("ix_telegram_updates_processed_at", "processed_at"),)

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(default_factory=clock.now)
    processed_at: datetime | None = Field(default=None)
    outcome: str | None = Field(default=None, max_length=60)
