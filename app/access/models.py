"""Access requests (a stranger asks to join an institute) and password change requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field

from app.core import clock, models_base  # noqa: F401  (naming convention first)
from app.core.models_base import InstituteRow, one_of
from app.core.statuses import RequestStatus


class AccessRequest(InstituteRow, table=True):
    """Someone without an account asks an institute's admins for one (public form)."""

    __tablename__ = "access_requests"
    __table_args__ = (
        Index("ix_access_requests_institute_id_status", "institute_id", "status"),
        Index("ix_access_requests_institute_id_email", "institute_id", "email"),
        Index("ix_access_requests_institute_id_phone", "institute_id", "phone"),
        CheckConstraint("role IN ('student', 'teacher')", name="role"),
        one_of("status", RequestStatus),
        CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="contact"),
    )

    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=20)
    role: str = Field(max_length=20)
    message: str | None = Field(default=None, max_length=1000)
    status: str = Field(default=RequestStatus.PENDING.value, max_length=20)
    # The requester's status link carries the token; only its hash is stored.
    token_hash: str = Field(max_length=64, unique=True)
    source: str | None = Field(default=None, max_length=120)
    created_at: datetime = Field(default_factory=clock.now)
    decided_by: int | None = Field(default=None, foreign_key="users.id")
    decided_at: datetime | None = Field(default=None)
    reason: str | None = Field(default=None, max_length=500)
    user_id: int | None = Field(default=None, foreign_key="users.id")  # the invited user


class PasswordChangeRequest(InstituteRow, table=True):
    """A signed-in user asks for a password reset; an admin approves or rejects it.

    Approved and not yet completed, it makes the user set a new password at their next sign-in.
    """

    __tablename__ = "password_change_requests"
    __table_args__ = (
        Index("ix_password_change_requests_institute_id_status", "institute_id", "status"),
        Index("ix_password_change_requests_user_id_status", "user_id", "status"),
        one_of("status", RequestStatus),
    )

    user_id: int = Field(foreign_key="users.id")
    note: str | None = Field(default=None, max_length=500)
    status: str = Field(default=RequestStatus.PENDING.value, max_length=20)
    created_at: datetime = Field(default_factory=clock.now)
    decided_by: int | None = Field(default=None, foreign_key="users.id")
    decided_at: datetime | None = Field(default=None)
    reason: str | None = Field(default=None, max_length=500)
    completed_at: datetime | None = Field(default=None)  # the new password was set
