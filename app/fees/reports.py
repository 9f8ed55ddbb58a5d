"""Fee reports, each one grouped query: AR aging, collections by period and method, defaulters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import String, case, cast, func
from sqlmodel import Session, col, select

from app.academics.models import Student
from app.core import clock
from app.core.roles import Role
from app.core.tenancy import Actor
from app.fees.models import (
    OPEN_INVOICE_VALUES,
    Invoice,
    InvoiceInstalment,
    InvoiceStatus,
    Payment,
)
from app.identity.models import Institute

BUCKETS = ("current", "0-30", "31-60", "61-90", "90+")


def _today(session: Session, actor: Actor) -> date:
    return clock.today_in(session.get(Institute, actor.institute_scope()).timezone)


def open_part():
    """SQL: what is still open of an instalment, given what was paid on its invoice (payments
    settle instalments in order): clamp(cumulative − paid, 0, amount)."""
    owed = InvoiceInstalment.cumulative_minor - Invoice.paid_minor
    return case(
        (owed <= 0, 0),
        (owed >= InvoiceInstalment.amount_minor, InvoiceInstalment.amount_minor),
        else_=owed,
    )


def _open_instalments(institute_id: int):
    return (
        select(InvoiceInstalment.due_on, func.sum(open_part()))
        .join(Invoice, Invoice.id == InvoiceInstalment.invoice_id)
        .where(
            InvoiceInstalment.institute_id == institute_id,
            Invoice.institute_id == institute_id,
            col(Invoice.status).in_(OPEN_INVOICE_VALUES),
        )
    )


def ar_aging(session: Session, *, actor: Actor, as_of: date | None = None) -> dict[str, int]:
    """Open balances by days past due: not yet due, 0–30, 31–60, 61–90, 90+ (minor units).
    An invoice paid in instalments is aged part by part."""
    actor.require(Role.ADMIN)
    today = as_of or _today(session, actor)
    rows = session.exec(
        _open_instalments(actor.institute_scope()).group_by(InvoiceInstalment.due_on)
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


def billed_by_month(session: Session, *, actor: Actor, start: date, end: date) -> dict[str, int]:
    """Invoiced (not void) between two dates, by month of issue ("2026-11" → minor units)."""
    actor.require(Role.ADMIN)
    month = func.substr(cast(Invoice.issued_on, String), 1, 7)
    rows = session.exec(
        select(month, func.sum(Invoice.total_minor))
        .where(
            Invoice.institute_id == actor.institute_scope(),
            Invoice.status != InvoiceStatus.VOID.value,
            Invoice.issued_on >= start,
            Invoice.issued_on <= end,
        )
        .group_by(month)
    ).all()
    return {str(m): int(a or 0) for m, a in rows}


@dataclass(frozen=True)
class Defaulter:
    student_id: int
    enrollment_no: str
    name: str
    overdue_minor: int
    oldest_due: date
    days_overdue: int


def defaulters(session: Session, *, actor: Actor, as_of: date | None = None) -> list[Defaulter]:
    """Students with overdue balances (instalments past their due date), largest first."""
    actor.require(Role.ADMIN, Role.COUNSELOR)
    today = as_of or _today(session, actor)
    return overdue_by_student_internal(session, institute_id=actor.institute_scope(), today=today)


def overdue_by_student_internal(
    session: Session, *, institute_id: int, today: date
) -> list[Defaulter]:
    """One grouped query: per student, the overdue amount and the oldest unpaid due date."""
    overdue = func.sum(open_part())
    rows = session.exec(
        select(
            Student.id,
            Student.enrollment_no,
            Student.name,
            overdue,
            func.min(InvoiceInstalment.due_on),
        )
        .join(Invoice, Invoice.student_id == Student.id)
        .join(InvoiceInstalment, InvoiceInstalment.invoice_id == Invoice.id)
        .where(
            Student.institute_id == institute_id,
            Invoice.institute_id == institute_id,
            InvoiceInstalment.institute_id == institute_id,
            col(Invoice.status).in_(OPEN_INVOICE_VALUES),
            InvoiceInstalment.due_on < today,
            open_part() > 0,
        )
        .group_by(Student.id, Student.enrollment_no, Student.name)
        .order_by(overdue.desc(), Student.id)
    ).all()
    return [
        Defaulter(sid, enr, name, int(amount), due, (today - due).days)
        for sid, enr, name, amount, due in rows
    ]


@dataclass(frozen=True)
class FeeStanding:
    """A student's position for the risk engine: what they owe now, what of it is overdue and
    for how long (days since the oldest unpaid part fell due)."""

    open_minor: int
    overdue_minor: int
    days_overdue: int


def standing_query(*, institute_ids: list[int], today: date):
    """SQL, one row per billed student of the given institutes: what they owe now
    (`open_minor`), what of it is overdue (`overdue_minor`) and the oldest unpaid due date
    (`oldest_due`). For other domains to join into their own set-based reads (risk)."""
    one = institute_ids[0] if len(institute_ids) == 1 else None

    def among(column):
        return column == one if one is not None else col(column).in_(institute_ids)

    billed = (
        select(
            Invoice.student_id.label("student_id"),
            func.sum(
                case(
                    (
                        col(Invoice.status).in_(OPEN_INVOICE_VALUES),
                        Invoice.total_minor - Invoice.paid_minor,
                    ),
                    else_=0,
                )
            ).label("open_minor"),
        )
        .where(among(Invoice.institute_id), Invoice.status != InvoiceStatus.VOID.value)
        .group_by(Invoice.student_id)
        .subquery("billed")
    )
    late = (
        select(
            Invoice.student_id.label("student_id"),
            func.sum(open_part()).label("overdue_minor"),
            func.min(InvoiceInstalment.due_on).label("oldest_due"),
        )
        .join(
            InvoiceInstalment,
            (InvoiceInstalment.institute_id == Invoice.institute_id)
            & (InvoiceInstalment.invoice_id == Invoice.id),
        )
        .where(
            among(Invoice.institute_id),
            col(Invoice.status).in_(OPEN_INVOICE_VALUES),
            InvoiceInstalment.due_on < today,
            open_part() > 0,
        )
        .group_by(Invoice.student_id)
        .subquery("late")
    )
    return (
        select(
            billed.c.student_id,
            billed.c.open_minor,
            func.coalesce(late.c.overdue_minor, 0).label("overdue_minor"),
            late.c.oldest_due,
        )
        .outerjoin(late, late.c.student_id == billed.c.student_id)
        .subquery("fee_standing")
    )


def standing_of(open_minor, overdue_minor, oldest_due, today: date) -> FeeStanding:
    """A FeeStanding from a `standing_query` row."""
    return FeeStanding(
        int(open_minor or 0),
        int(overdue_minor or 0),
        (today - oldest_due).days if oldest_due is not None and overdue_minor else 0,
    )


def fee_standing(
    session: Session, *, institute_ids: list[int], today: date
) -> dict[int, FeeStanding]:
    """Every student (of the given institutes) with at least one invoice that is not void.
    Students missing from the result have never been billed."""
    q = standing_query(institute_ids=institute_ids, today=today)
    return {
        sid: standing_of(open_minor, overdue, due, today)
        for sid, open_minor, overdue, due in session.connection().execute(select(q)).all()
    }
