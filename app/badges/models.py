"""Badges: a catalog tree (program → skill → mini-badge, plus a capstone per program), requests,
awards with their public credential id, and each institute's signing key.

The tree lives in one table: every node is itself an awardable badge. `parent_id` points a mini
to its skill, a skill or capstone to its program; programs have no parent.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Column, Index, UniqueConstraint, text
from sqlmodel import Field

from app.core import clock, models_base  # noqa: F401  (naming convention first)
from app.core.models_base import InstituteRow, one_of
from app.core.statuses import RequestStatus


class BadgeKind(StrEnum):
    PROGRAM = "program"
    SKILL = "skill"
    MINI = "mini"
    CAPSTONE = "capstone"


class RuleKind(StrEnum):
    TOPIC_COMPETENCY = "topic_competency"  # competency ≥ threshold on every listed topic
    ASSESSMENT_PERCENT = "assessment_percent"  # average % ≥ threshold on a subject or topic
    ATTENDANCE_PERCENT = "attendance_percent"  # attended ≥ threshold % of a batch's sessions


class CredentialStatus(StrEnum):
    """What checking an awarded badge's credential says (the wall and the public check)."""

    VALID = "valid"
    NEEDS_REVIEW = "needs review"  # valid, but its rule changed since it was awarded
    REVOKED = "revoked"
    UNKNOWN = "unknown"  # no such credential


class Badge(InstituteRow, table=True):
    """One node of the catalog; minis and capstones may carry an automatic rule."""

    __tablename__ = "badges"
    __table_args__ = (
        UniqueConstraint("institute_id", "parent_id", "name"),
        Index("ix_badges_institute_id_parent_id", "institute_id", "parent_id"),
        one_of("kind", BadgeKind),
        one_of("rule_kind", RuleKind, nullable=True),
    )

    kind: str = Field(max_length=10)
    parent_id: int | None = Field(default=None, foreign_key="badges.id")
    name: str = Field(max_length=120)
    description: str = Field(default="", max_length=1000)
    criteria: str = Field(default="", max_length=2000)  # the narrative shown and signed
    emoji: str = Field(default="🏅", max_length=16)
    colour: str = Field(default="#4f46e5", max_length=9)
    required: bool = Field(default=True)  # a mini that counts toward its skill
    active: bool = Field(default=True)
    position: int = Field(default=0)
    rule_kind: str | None = Field(default=None, max_length=30)
    rule_threshold: float | None = Field(default=None)
    rule_topic_ids: list[int] | None = Field(default=None, sa_column=Column(JSON))
    rule_subject_id: int | None = Field(default=None, foreign_key="subjects.id")
    rule_batch_id: int | None = Field(default=None, foreign_key="batches.id")
    created_at: datetime = Field(default_factory=clock.now)


class BadgeRequest(InstituteRow, table=True):
    """A student's request for a badge, with evidence; a teacher or admin decides."""

    __tablename__ = "badge_requests"
    __table_args__ = (
        Index("ix_badge_requests_institute_id_status", "institute_id", "status", "created_at"),
        Index("ix_badge_requests_institute_id_student_id", "institute_id", "student_id"),
        # One pending request per student and badge, even when two requests race.
        Index(
            "uq_badge_requests_one_pending",
            "institute_id",
            "student_id",
            "badge_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        one_of("status", RequestStatus),
    )

    student_id: int = Field(foreign_key="students.id")
    badge_id: int = Field(foreign_key="badges.id")
    evidence_text: str = Field(default="", max_length=2000)
    evidence_url: str | None = Field(default=None, max_length=500)
    status: str = Field(default=RequestStatus.PENDING.value, max_length=10)
    created_at: datetime = Field(default_factory=clock.now)
    decided_by: int | None = Field(default=None, foreign_key="users.id")
    decided_at: datetime | None = Field(default=None)
    reason: str | None = Field(default=None, max_length=1000)


class BadgeAward(InstituteRow, table=True):
    """A badge earned by a student: once per (institute, student, badge), revocable."""

    __tablename__ = "badge_awards"
    __table_args__ = (
        UniqueConstraint("institute_id", "student_id", "badge_id"),
        UniqueConstraint("credential_id"),
        Index("ix_badge_awards_institute_id_badge_id", "institute_id", "badge_id"),
        CheckConstraint("source IN ('manual', 'request', 'rule', 'progression')", name="source"),
    )

    student_id: int = Field(foreign_key="students.id")
    badge_id: int = Field(foreign_key="badges.id")
    awarded_at: datetime = Field(default_factory=clock.now)
    awarded_by: int | None = Field(default=None, foreign_key="users.id")
    source: str = Field(max_length=12)
    request_id: int | None = Field(default=None, foreign_key="badge_requests.id")
    evidence: str | None = Field(default=None, max_length=2000)
    credential_id: str = Field(max_length=64)  # unguessable; the public verification id
    revoked_at: datetime | None = Field(default=None)
    revoked_by: int | None = Field(default=None, foreign_key="users.id")
    revoke_reason: str | None = Field(default=None, max_length=1000)
    needs_review: bool = Field(default=False)
    review_note: str | None = Field(default=None, max_length=1000)


class InstituteKey(InstituteRow, table=True):
    """The institute's Ed25519 signing key: public JWK in clear, private key Fernet-encrypted."""

    __tablename__ = "institute_keys"
    __table_args__ = (UniqueConstraint("institute_id"), UniqueConstraint("kid"))

    kid: str = Field(max_length=64)
    alg: str = Field(default="EdDSA", max_length=10)
    public_jwk: dict = Field(sa_column=Column(JSON, nullable=False))
    private_key_encrypted: str
    created_at: datetime = Field(default_factory=clock.now)
