"""Institutes (tenants) and users (the allowlist)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core import clock, models_base  # noqa: F401  (naming convention first)
from app.core.roles import Role


class UserStatus(StrEnum):
    INVITED = "invited"
    ACTIVE = "active"
    DISABLED = "disabled"


class Institute(SQLModel, table=True):
    __tablename__ = "institutes"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    timezone: str = Field(default="Asia/Kolkata", max_length=64)
    currency: str = Field(default="INR", max_length=3)
    subscription_end: date | None = Field(default=None)
    max_teachers: int | None = Field(default=None)
    created_at: datetime = Field(default_factory=clock.now)

    def subscription_expired(self, today: date) -> bool:
        """The subscription end date is the last day of access."""
        return self.subscription_end is not None and self.subscription_end < today


_ROLE_VALUES = ", ".join(f"'{r.value}'" for r in Role)
_STATUS_VALUES = ", ".join(f"'{s.value}'" for s in UserStatus)


class User(SQLModel, table=True):
    """One allowlisted person. Super admins belong to no institute."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("institute_id", "email"),
        UniqueConstraint("institute_id", "phone_key"),
        Index("ix_users_institute_id_role_status", "institute_id", "role", "status"),
        Index("ix_users_email", "email"),
        Index("ix_users_phone_key", "phone_key"),
        CheckConstraint(f"role IN ({_ROLE_VALUES})", name="role"),
        CheckConstraint(f"status IN ({_STATUS_VALUES})", name="status"),
        CheckConstraint(
            "(role = 'super_admin') = (institute_id IS NULL)", name="institute_for_role"
        ),
        CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="contact"),
    )

    id: int | None = Field(default=None, primary_key=True)
    institute_id: int | None = Field(default=None, foreign_key="institutes.id")
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=20)
    phone_key: str | None = Field(default=None, max_length=10)
    role: str = Field(max_length=20)
    status: str = Field(default=UserStatus.INVITED.value, max_length=20)
    invited_by: int | None = Field(default=None)
    created_at: datetime = Field(default_factory=clock.now)
    updated_at: datetime = Field(default_factory=clock.now)
    last_sign_in_at: datetime | None = Field(default=None)
