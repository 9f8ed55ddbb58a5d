"""Billing periods as admins see them: the institute's term starts and the period containing a day."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session

from app.core import audit, clock
from app.core.ownership import get_owned
from app.core.roles import Role
from app.core.tenancy import Actor
from app.fees import periods
from app.fees.common import actor_institute
from app.fees.models import (
    FeeStructure,
)


def billing_period(structure: FeeStructure, on_date: date, *, term_starts: str | None) -> str:
    """The period `structure` bills on `on_date`: YYYY-MM (monthly) or the institute's term
    containing the day, YYYY-Tn (per term). The one rule for runs, conversions, the desk, demo."""
    return periods.billing_period(structure.period_kind, on_date, term_starts)


def current_period(
    session: Session, *, actor: Actor, structure_id: int, on_date: date | None = None
) -> str:
    """The period a structure bills today (or on `on_date`) in the actor's institute: what an
    invoice run or a conversion bills unless told otherwise."""
    actor.require(Role.ADMIN, Role.COUNSELOR)
    institute = actor_institute(session, actor)
    structure = get_owned(session, FeeStructure, actor, structure_id, "fee structure")
    day = on_date or clock.today_in(institute.timezone)
    return billing_period(structure, day, term_starts=institute.term_starts)


def term_bounds(session: Session, *, actor: Actor, period: str) -> tuple[date, date]:
    """The first and last day of a billing period ("2026-T2" or "2026-12")."""
    actor.require(Role.ADMIN, Role.COUNSELOR)
    terms = actor_institute(session, actor).term_starts
    term = periods.term_by_key(period, terms)
    if term is not None:
        return term.starts_on, term.ends_on
    first = date.fromisoformat(f"{periods.check_period('month', period)}-01")
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def term_starts(session: Session, *, actor: Actor) -> str:
    """The institute's term starts ("01-01,07-01"): staff read them to name periods."""
    actor.require(Role.ADMIN, Role.COUNSELOR)
    return actor_institute(session, actor).term_starts


def set_term_starts(session: Session, *, actor: Actor, starts: str) -> str:
    """Set when the institute's billing terms start (month-day, in year order). Invoices
    already issued keep their period; per-term runs bill the new terms from now on."""
    actor.require(Role.ADMIN)
    institute = actor_institute(session, actor)
    clean = periods.format_term_starts(periods.parse_term_starts(starts))
    if clean != institute.term_starts:
        before = institute.term_starts
        institute.term_starts = clean
        audit.save_audited(
            session,
            institute,
            "fees.term_starts",
            actor=actor,
            target_type="institute",
            detail={"from": before, "to": clean},
        )
    return clean
