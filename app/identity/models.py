"""Institutes (tenants) and users (the allowlist)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from app.core import clock, models_base  # noqa: F401  (naming convention first)
from app.core.models_base import one_of
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
    # When each billing term starts, month-day ("01-01,07-01"): see app/fees/periods.py.
    term_starts: str = Field(
        default="01-01,07-01", max_length=60, sa_column_kwargs={"server_default": "01-01,07-01"}
    )
    subscription_end: date | None = Field(default=None)
    max_teachers: int | None = Field(default=None)
    # Set when ADMIN_EMAILS bootstrapped this institute; cleared when an admin dismisses the warning.
    bootstrap_warning: bool = Field(default=False)
    # Teachers may add extra classes to their batches without an admin's approval.
    teachers_add_classes: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # CRM: a new inquiry nobody took goes to the counselor with the fewest open ones.
    auto_assign_inquiries: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    created_at: datetime = Field(default_factory=clock.now)

    def subscription_expired(self, today: date) -> bool:
        """The subscription end date is the last day of access."""
        return self.subscription_end is not None and self.subscription_end < today


class User(SQLModel, table=True):
    """One allowlisted person. Super admins belong to no institute."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("institute_id", "email"),
        UniqueConstraint("institute_id", "phone"),
        Index("ix_users_institute_id_role_status", "institute_id", "role", "status"),
        Index("ix_users_email", "email"),
        Index("ix_users_phone", "phone"),
        Index("ix_users_telegram_chat_id", "telegram_chat_id"),
        UniqueConstraint("institute_id", "oidc_issuer", "oidc_subject"),
        one_of("role", Role),
        one_of("status", UserStatus),
        CheckConstraint(
            "(role = 'super_admin') = (institute_id IS NULL)", name="institute_for_role"
        ),
        CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="contact"),
    )

    id: int | None = Field(default=None, primary_key=True)
    institute_id: int | None = Field(default=None, foreign_key="institutes.id")
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=20)  # E.164 (app.core.phones)
    role: str = Field(max_length=20)
    status: str = Field(default=UserStatus.INVITED.value, max_length=20)
    invited_by: int | None = Field(default=None)
    created_at: datetime = Field(default_factory=clock.now)
    updated_at: datetime = Field(default_factory=clock.now)
    last_sign_in_at: datetime | None = Field(default=None)
    # Sign-in credentials and links
    password_hash: str | None = Field(default=None, max_length=255)
    password_set_at: datetime | None = Field(default=None)
    oidc_issuer: str | None = Field(default=None, max_length=255)
    oidc_subject: str | None = Field(default=None, max_length=255)
    telegram_chat_id: str | None = Field(default=None, max_length=64)
    # Onboarding: the consent version accepted last (history in consent_acceptances)
    consent_version: str | None = Field(default=None, max_length=40)
    onboarded_at: datetime | None = Field(default=None)


class ConsentAcceptance(SQLModel, table=True):
    """Each acceptance of the data-use consent, with its version and time."""

    __tablename__ = "consent_acceptances"
    __table_args__ = (
        Index("ix_consent_acceptances_institute_id_user_id", "institute_id", "user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    institute_id: int | None = Field(default=None, foreign_key="institutes.id")
    user_id: int = Field(foreign_key="users.id")
    version: str = Field(max_length=40)
    accepted_at: datetime = Field(default_factory=clock.now)
    source: str | None = Field(default=None, max_length=120)


class AuthSession(SQLModel, table=True):
    """A signed-in session kept on the server; the browser holds only a random token."""

    __tablename__ = "auth_sessions"
    __table_args__ = (Index("ix_auth_sessions_user_id_ended_at", "user_id", "ended_at"),)

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="users.id")
    method: str = Field(max_length=20)
    created_at: datetime = Field(default_factory=clock.now)
    last_seen_at: datetime = Field(default_factory=clock.now)
    expires_at: datetime
    ended_at: datetime | None = Field(default=None)
    end_reason: str | None = Field(default=None, max_length=40)
    source: str | None = Field(default=None, max_length=120)


class OtpCode(SQLModel, table=True):
    """A one-time sign-in code sent by Telegram. The table is global (no RLS: nobody is known
    yet), so it keeps keyed hashes only: of the code, the phone (E.164) and the chat it went to."""

    __tablename__ = "otp_codes"
    __table_args__ = (Index("ix_otp_codes_phone_hash_created_at", "phone_hash", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    phone_hash: str = Field(max_length=64)  # keyed hash of the phone in E.164
    chat_hash: str = Field(max_length=64)  # keyed hash of the chat the code went to
    code_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=clock.now)
    expires_at: datetime
    attempts: int = Field(default=0)
    consumed_at: datetime | None = Field(default=None)


class PasswordLink(SQLModel, table=True):
    """A one-time link to set a password (from an invitation or an admin's reset)."""

    __tablename__ = "password_links"
    __table_args__ = (Index("ix_password_links_user_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="users.id")
    purpose: str = Field(max_length=20)  # invitation | reset
    created_by: int | None = Field(default=None)
    created_at: datetime = Field(default_factory=clock.now)
    expires_at: datetime
    used_at: datetime | None = Field(default=None)
