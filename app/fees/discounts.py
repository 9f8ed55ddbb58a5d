"""Discounts and scholarships: what a student is granted and how it reduces an invoice."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.academics.models import Student
from app.core import audit, clock
from app.core.errors import ValidationError
from app.core.money import format_money
from app.core.ownership import get_owned, owned
from app.core.roles import Role
from app.core.tenancy import Actor
from app.fees.models import (
    FeeStructure,
    StudentDiscount,
)


def grant_discount(
    session: Session,
    *,
    actor: Actor,
    student_id: int,
    reason: str,
    percent: int | None = None,
    amount_minor: int | None = None,
    structure_id: int | None = None,
    kind: str = "discount",
) -> StudentDiscount:
    """A discount or scholarship for a student, off each invoice issued from now on (of one
    structure, or all). A percent is of the invoice's items; an amount is taken off each
    invoice. Together they never take an invoice below zero."""
    actor.require(Role.ADMIN)
    institute_id = actor.institute_scope()
    owned(session, Student, student_id, institute_id, "student")
    if kind not in ("discount", "scholarship"):
        raise ValidationError("Choose a discount or a scholarship.", field="kind")
    if (percent is None) == (amount_minor is None):
        raise ValidationError("Give either a percent or an amount, not both.", field="percent")
    if percent is not None and not 0 < int(percent) <= 100:
        raise ValidationError("A percent is between 1 and 100.", field="percent")
    if amount_minor is not None and int(amount_minor) <= 0:
        raise ValidationError("The amount must be more than zero.", field="amount")
    if not (reason or "").strip():
        raise ValidationError(
            "Say why (for example: sibling discount, merit scholarship).", field="reason"
        )
    if structure_id is not None:
        owned(session, FeeStructure, structure_id, institute_id, "fee structure")
    discount = StudentDiscount(
        institute_id=institute_id,
        student_id=student_id,
        structure_id=structure_id,
        kind=kind,
        percent=int(percent) if percent is not None else None,
        amount_minor=int(amount_minor) if amount_minor is not None else None,
        reason=reason.strip()[:200],
        created_by=actor.user_id,
    )
    session.add(discount)
    session.flush()
    audit.on(
        session,
        actor,
        "fees.discount_grant",
        student_id,
        {
            "kind": kind,
            "percent": discount.percent,
            "amount_minor": discount.amount_minor,
            "structure_id": structure_id,
            "reason": discount.reason,
        },
        target_type="student",
    )
    return discount


def end_discount(session: Session, *, actor: Actor, discount_id: int) -> StudentDiscount:
    """Stop a discount for future invoices (issued invoices keep theirs)."""
    actor.require(Role.ADMIN)
    discount = get_owned(session, StudentDiscount, actor, discount_id, "discount")
    if discount.active:
        discount.active, discount.ended_at = False, clock.now()
        session.add(discount)
        session.flush()
        audit.on(
            session,
            actor,
            "fees.discount_end",
            discount.student_id,
            {"discount_id": discount.id},
            target_type="student",
        )
    return discount


def list_discounts(
    session: Session, *, actor: Actor, student_id: int | None = None, active_only: bool = True
) -> list[StudentDiscount]:
    actor.require(Role.ADMIN, Role.COUNSELOR)
    query = select(StudentDiscount).where(StudentDiscount.institute_id == actor.institute_scope())
    if student_id is not None:
        query = query.where(StudentDiscount.student_id == student_id)
    if active_only:
        query = query.where(col(StudentDiscount.active).is_(True))
    return list(session.exec(query.order_by(col(StudentDiscount.id).desc())))


def describe_discount(d: StudentDiscount, currency: str) -> str:
    label = "Scholarship" if d.kind == "scholarship" else "Discount"
    size = f"{d.percent}%" if d.percent is not None else format_money(d.amount_minor, currency)
    return f"{label} {size}: {d.reason}"


def discount_lines(
    discounts: list[StudentDiscount], gross_minor: int, currency: str
) -> list[tuple[str, int]]:
    """(description, amount) per discount for an invoice of `gross_minor`, capped at the gross."""
    lines, left = [], gross_minor
    for d in discounts:
        amount = (gross_minor * d.percent + 50) // 100 if d.percent is not None else d.amount_minor
        amount = min(amount, left)
        if amount > 0:
            lines.append((describe_discount(d, currency)[:160], amount))
            left -= amount
    return lines
