"""Fee reports, each one grouped query: AR aging, collections by period and method, defaulters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import String, cast, func
from sqlmodel import Session, col, select

from app.academics.models import Student
from app.core import clock
from app.core.roles import Role
from app.core.tenancy import Actor
from app.fees.models import Invoice, Payment
from app.identity.models import Institute

BUCKETS = ("current", "0-30", "31-60", "61-90", "90+")


def _today(session: Session, actor: Actor) -> date:
    return clock.today_in(session.get(Institute, actor.institute_scope()).timezone)


def ar_aging(session: Session, *, actor: Actor, as_of: date | None = None) -> dict[str, int]:
    """Open balances by days past due: not yet due, 0–30, 31–60, 61–90, 90+ (minor units)."""
    actor.require(Role.ADMIN)
    today = as_of or _today(session, actor)
    rows = session.exec(
        select(Invoice.due_on, func.sum(Invoice.total_minor - Invoice.paid_minor))
        .where(
            Invoice.institute_id == actor.institute_scope(),
            col(Invoice.status).in_(["issued", "partially_paid"]),
        )
        .group_by(Invoice.due_on)
    ).all()
    out = dict.fromkeys(BUCKETS, 0)
    for due_on, amount in rows:
        late = (today - due_on).days
        bucket = (
            "current"
            if late <= 0
            else "0-30"
            if late <= 30
            else "31-60"
            if late <= 60
            else "61-90"
            if late <= 90
            else "90+"
        )
        out[bucket] += int(amount or 0)
    return out


@dataclass(frozen=True)
class Collection:
    period: str
    method: str
    count: int
    amount_minor: int


def collections(session: Session, *, actor: Actor, start: date, end: date) -> list[Collection]:
    """Money received between two dates, by month and method."""
    actor.require(Role.ADMIN)
    month = func.substr(cast(Payment.received_on, String), 1, 7)
    rows = session.exec(
        select(month, Payment.method, func.count(), func.sum(Payment.amount_minor))
        .where(
            Payment.institute_id == actor.institute_scope(),
            Payment.received_on >= start,
            Payment.received_on <= end,
        )
        .group_by(month, Payment.method)
        .order_by(month, Payment.method)
    ).all()
    return [Collection(str(p), m, int(n), int(a or 0)) for p, m, n, a in rows]


@dataclass(frozen=True)
class Defaulter:
    student_id: int
    enrollment_no: str
    name: str
    overdue_minor: int
    oldest_due: date
    days_overdue: int


def defaulters(session: Session, *, actor: Actor, as_of: date | None = None) -> list[Defaulter]:
    """Students with overdue balances, largest first."""
    actor.require(Role.ADMIN, Role.COUNSELOR)
    today = as_of or _today(session, actor)
    rows = session.exec(
        select(
            Student.id,
            Student.enrollment_no,
            Student.name,
            func.sum(Invoice.total_minor - Invoice.paid_minor),
            func.min(Invoice.due_on),
        )
        .join(Invoice, Invoice.student_id == Student.id)
        .where(
            Invoice.institute_id == actor.institute_scope(),
            col(Invoice.status).in_(["issued", "partially_paid"]),
            Invoice.due_on < today,
        )
        .group_by(Student.id, Student.enrollment_no, Student.name)
        .order_by(func.sum(Invoice.total_minor - Invoice.paid_minor).desc())
    ).all()
    return [
        Defaulter(sid, enr, name, int(amount), due, (today - due).days)
        for sid, enr, name, amount, due in rows
    ]
