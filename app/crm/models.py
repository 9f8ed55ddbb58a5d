"""Counselor CRM: inquiries (leads) and their follow-ups.

An inquiry moves new → contacted → follow_up_scheduled → enrolled | lost. Its lead score and the
plain-language reasons for it are stored on the row (recomputed on change and daily, see
`app.crm.leadscore`). Phones are stored in E.164 (`app.core.phones`), so "+91 98765 43210",
"098765 43210" and "9876543210" typed at an Indian institute are recognised as the same person.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Column, Index
from sqlmodel import Field

from app.core import clock, models_base  # noqa: F401  (naming convention first)
from app.core.models_base import InstituteRow, one_of


class LabelledChoice(StrEnum):
    """A choice shown to people as its value in words ("walk_in" is "Walk in")."""

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Source(LabelledChoice):
    WEBSITE = "website"
    REFERRAL = "referral"
    WALK_IN = "walk_in"
    SOCIAL_MEDIA = "social_media"
    CAMPAIGN = "campaign"


class Status(LabelledChoice):
    NEW = "new"
    CONTACTED = "contacted"
    FOLLOW_UP_SCHEDULED = "follow_up_scheduled"
    ENROLLED = "enrolled"
    LOST = "lost"


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class FollowUpType(StrEnum):
    CALL = "call"
    EMAIL = "email"
    VISIT = "visit"
    SMS = "sms"
    WHATSAPP = "whatsapp"


class FollowUpStatus(StrEnum):
    COMPLETED = "completed"
    PENDING = "pending"
    MISSED = "missed"


class Outcome(LabelledChoice):
    """What came of a contact; the first four mean the person answered."""

    INTERESTED = "interested"
    CONSIDERING = "considering"
    CALLBACK = "callback_requested"
    NOT_INTERESTED = "not_interested"
    NO_ANSWER = "no_answer"
    WRONG_NUMBER = "wrong_number"


ANSWERED = (Outcome.INTERESTED, Outcome.CONSIDERING, Outcome.CALLBACK, Outcome.NOT_INTERESTED)
OPEN_STATUSES = (Status.NEW, Status.CONTACTED, Status.FOLLOW_UP_SCHEDULED)


class Inquiry(InstituteRow, table=True):
    """A prospective student (or their parent) who asked about joining."""

    __tablename__ = "crm_inquiries"
    __table_args__ = (
        Index("ix_crm_inquiries_institute_id_status", "institute_id", "status"),
        Index(
            "ix_crm_inquiries_institute_id_counselor_user_id",
            "institute_id",
            "counselor_user_id",
        ),
        Index("ix_crm_inquiries_institute_id_phone", "institute_id", "phone"),
        Index("ix_crm_inquiries_institute_id_email", "institute_id", "email"),
        Index("ix_crm_inquiries_institute_id_created_at", "institute_id", "created_at"),
        one_of("source", Source),
        one_of("status", Status),
        one_of("priority", Priority),
        CheckConstraint("lead_score BETWEEN 0 AND 100", name="lead_score"),
        CheckConstraint("status <> 'lost' OR lost_reason IS NOT NULL", name="lost_reason"),
    )

    counselor_user_id: int | None = Field(default=None, foreign_key="users.id")
    student_name: str = Field(max_length=200)
    phone: str | None = Field(default=None, max_length=20)  # E.164 (app.core.phones)
    email: str | None = Field(default=None, max_length=254)  # lower-cased, trimmed
    interested_subjects: list[int] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )  # subject ids
    source: str = Field(max_length=20)
    status: str = Field(default=Status.NEW.value, max_length=20)
    priority: str = Field(default=Priority.MEDIUM.value, max_length=10)
    lost_reason: str | None = Field(default=None, max_length=300)
    next_follow_up_date: date | None = Field(default=None)
    notes: str | None = Field(default=None, max_length=2000)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    referrer_student_id: int | None = Field(default=None, foreign_key="students.id")
    student_id: int | None = Field(default=None, foreign_key="students.id")  # once enrolled
    lead_score: int = Field(default=0)
    score_reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    contacted_at: datetime | None = Field(default=None)  # first moved past new
    scheduled_at: datetime | None = Field(default=None)  # first had a follow-up scheduled
    closed_at: datetime | None = Field(default=None)  # enrolled or lost
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=clock.now)
    updated_at: datetime = Field(default_factory=clock.now)


class FollowUp(InstituteRow, table=True):
    """One contact with an inquiry: done (completed), planned (pending) or not done (missed)."""

    __tablename__ = "crm_follow_ups"
    __table_args__ = (
        Index("ix_crm_follow_ups_institute_id_inquiry_id", "institute_id", "inquiry_id"),
        Index(
            "ix_crm_follow_ups_institute_id_status_follow_up_date",
            "institute_id",
            "status",
            "follow_up_date",
        ),
        one_of("follow_up_type", FollowUpType),
        one_of("status", FollowUpStatus),
        one_of("outcome", Outcome, nullable=True),
    )

    inquiry_id: int = Field(foreign_key="crm_inquiries.id")
    counselor_user_id: int | None = Field(default=None, foreign_key="users.id")
    follow_up_date: date
    follow_up_type: str = Field(max_length=10)
    notes: str | None = Field(default=None, max_length=2000)
    next_follow_up_date: date | None = Field(default=None)
    status: str = Field(default=FollowUpStatus.COMPLETED.value, max_length=10)
    outcome: str | None = Field(default=None, max_length=30)
    created_at: datetime = Field(default_factory=clock.now)
    updated_at: datetime = Field(default_factory=clock.now)
