"""What the fee modules share: payment methods and the institute's today."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from app.core import clock
from app.core.tenancy import Actor
from app.identity.models import Institute

METHODS = ("cash", "bank", "card", "upi", "mpesa", "other")


def actor_institute(session: Session, actor: Actor) -> Institute:
    return session.get(Institute, actor.institute_scope())


def today_internal(session: Session, institute_id: int) -> date:
    return clock.today_in(session.get(Institute, institute_id).timezone)
