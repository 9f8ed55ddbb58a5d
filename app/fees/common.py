"""What the fee modules share: payment methods, the institute's today, and whom a batch or a
level means."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from app.academics.models import Batch, BatchMembership
from app.core import clock
from app.core.tenancy import Actor
from app.identity.models import Institute

METHODS = ("cash", "bank", "card", "upi", "mpesa", "other")


def actor_institute(session: Session, actor: Actor) -> Institute:
    return session.get(Institute, actor.institute_scope())


def today_internal(session: Session, institute_id: int) -> date:
    return clock.today_in(session.get(Institute, institute_id).timezone)


def current_members_query(institute_id: int, *, batch_id: int | None, level: str | None) -> Any:
    """The ids of the current members of a batch and/or of the batches of a level (a subquery:
    whom to bill, whom to remind)."""
    members = (
        select(BatchMembership.student_id)
        .join(Batch, col(Batch.id) == col(BatchMembership.batch_id))
        .where(BatchMembership.institute_id == institute_id, col(BatchMembership.left_on).is_(None))
    )
    if batch_id is not None:
        members = members.where(BatchMembership.batch_id == batch_id)
    if level:
        members = members.where(Batch.level == level)
    return members
