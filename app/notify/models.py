"""The outbox (every outgoing message is a row), notification rules, and announcements."""

from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field

from app.core import clock, models_base  # noqa: F401  (naming convention first)
from app.core.models_base import InstituteRow, one_of


class Channel(StrEnum):
    TELEGRAM = "telegram"
    IN_APP = "in_app"
    EMAIL = "email"  # reserved


class Status(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    BLOCKED = "blocked"


class Notification(InstituteRow, table=True):
    """One outgoing message. The same (institute, dedupe key) is never queued twice."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("institute_id", "dedupe_key"),
        Index("ix_notifications_status_next_attempt_at", "status", "next_attempt_at"),
        Index(
            "ix_notifications_institute_id_recipient_user_id", "institute_id", "recipient_user_id"
        ),
        Index("ix_notifications_institute_id_created_at", "institute_id", "created_at"),
        one_of("channel", Channel),
        one_of("status", Status),
    )

    channel: str = Field(max_length=20)
    recipient: str = Field(max_length=120)  # Telegram chat id, or the user id for in-app
    recipient_user_id: int | None = Field(default=None, foreign_key="users.id")
    subject: str | None = Field(default=None, max_length=200)
    text: str
    dedupe_key: str = Field(max_length=200)
    status: str = Field(default=Status.QUEUED.value, max_length=20)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=clock.now)
    last_error: str | None = Field(default=None, max_length=500)
    sent_at: datetime | None = Field(default=None)
    read_at: datetime | None = Field(default=None)
    created_at: datetime = Field(default_factory=clock.now)
    # Telegram buttons (app/notify/buttons.py: rows of act/link descriptions, made real and
    # signed for the chat at delivery) and a file built at delivery ("kind:ref", links.py).
    buttons: list[list[dict[str, Any]]] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True))
    )
    attachment: str | None = Field(default=None, max_length=120)


class BlockedChat(InstituteRow, table=True):
    """A Telegram chat that blocked the bot: later messages to it are suppressed, not sent."""

    __tablename__ = "blocked_chats"
    __table_args__ = (UniqueConstraint("institute_id", "chat_id"),)

    chat_id: str = Field(max_length=64)
    blocked_at: datetime = Field(default_factory=clock.now)


class RuleConfig(InstituteRow, table=True):
    """Notification rules: one global row per institute (batch_id NULL) and optional per-batch
    overrides, where an empty field means "as the institute"."""

    __tablename__ = "rule_configs"
    __table_args__ = (UniqueConstraint("institute_id", "batch_id"),)

    batch_id: int | None = Field(default=None)
    notify_guardian_on_absence: bool | None = Field(default=None)
    absence_streak_threshold: int | None = Field(default=None)
    fee_reminder_days_before: int | None = Field(default=None)
    fee_reminder_days_after: int | None = Field(default=None)
    quiet_hours_start: time | None = Field(default=None)
    quiet_hours_end: time | None = Field(default=None)
    updated_at: datetime = Field(default_factory=clock.now)
    updated_by: int | None = Field(default=None)


class Announcement(InstituteRow, table=True):
    __tablename__ = "announcements"
    __table_args__ = (
        Index("ix_announcements_institute_id_created_at", "institute_id", "created_at"),
    )

    batch_id: int | None = Field(default=None)
    title: str = Field(max_length=200)
    body: str
    author_user_id: int | None = Field(default=None, foreign_key="users.id")
    recipients: int = Field(default=0)
    created_at: datetime = Field(default_factory=clock.now)
