"""Recording many payments at once (a bank statement, a day's counter slips, the demo): each
checked and allocated exactly as one payment is (app/fees/payments.py), in order, but
set-based: a few queries and bulk inserts however many there are."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlmodel import Session, col, select

from app.academics.models import Student
from app.core import audit, clock
from app.core.errors import Conflict, NotFound, ValidationError
from app.core.money import format_money
from app.core.roles import Role
from app.core.tenancy import Actor
from app.core.text import plural
from app.fees import allocation, ledger
from app.fees.common import METHODS, today_internal
from app.fees.models import (
    OPEN_INVOICE_VALUES,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentAllocation,
    paid_status,
)
from app.fees.payments import next_receipt_no_internal, owed_internal
from app.identity.models import Institute


def record_payments_bulk(
    session: Session, *, actor: Actor, payments: list[dict], allow_credit: bool = False
) -> int:
    """Record many payments at once (a bank statement, a day's counter slips, the demo): each
    dict has student_id, amount_minor, method, reference and optionally received_on. Checked
    and allocated exactly as `record_payment` would, in the order given, but set-based: a few
    queries and bulk inserts however many there are. A reference already recorded with the same
    student and amount is skipped; any other clash refuses the whole batch. Returns how many
    payments were recorded. A payment may name an `invoice_id` to pay first. If any payment is
    more than its student owes, the whole batch is refused unless `allow_credit`."""
    actor.require(Role.ADMIN)
    institute_id = actor.institute_scope()
    currency = session.get(Institute, institute_id).currency
    today = today_internal(session, institute_id)
    clean, seen = _clean_bulk(payments, today)
    if not clean:
        return 0
    known = _known_students(session, institute_id, clean)
    fresh = _not_yet_recorded(session, institute_id, clean, seen, currency)
    if not fresh:
        return 0
    # Receipt numbers first: the counter's row lock serialises payments of the institute, so
    # the open lines read below are not being paid meanwhile (a refusal rolls it all back).
    first_no = next_receipt_no_internal(session, institute_id, count=len(fresh))
    open_lines, owed, invoices = _open_lines_of(session, institute_id, known)
    plans, line_paid = _allocate_in_order(fresh, open_lines, owed, invoices)
    _refuse_unasked_credit(fresh, allow_credit)
    owed_now = owed_internal(session, institute_id, known)
    for p, plan in zip(fresh, plans, strict=True):
        owed_now[p["student_id"]] = owed_now.get(p["student_id"], 0) - plan.applied_minor
        p["owed_after_minor"] = owed_now[p["student_id"]]
    ids = _insert_payments(session, actor, institute_id, fresh, plans, first_no)
    _mark_paid(session, line_paid, plans, invoices)
    accounts = ledger.ensure_chart_internal(session, institute_id=institute_id)
    ledger.post_many_internal(
        session,
        institute_id=institute_id,
        source_type="payment",
        entries=[
            ledger.Entry(
                p["received_on"],
                f"Payment {p['reference']} receipt {first_no + n}",
                ids[p["reference"]],
                ledger.payment_postings(accounts, p["amount_minor"], p["credit_minor"]),
            )
            for n, p in enumerate(fresh)
        ],
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="fees.payments_bulk",
        detail={
            "count": len(fresh),
            "skipped": len(clean) - len(fresh),
            "amount_minor": sum(p["amount_minor"] for p in fresh),
            "receipts": [first_no, first_no + len(fresh) - 1],
        },
    )
    return len(fresh)


def _insert_payments(
    session: Session,
    actor: Actor,
    institute_id: int,
    fresh: list[dict[str, Any]],
    plans: list[allocation.Allocation],
    first_no: int,
) -> dict[str, Any]:
    """The payments (numbered from `first_no`) and their allocations, in bulk; their ids by
    reference."""
    now = clock.now()
    session.execute(
        insert(Payment),
        [
            {
                "institute_id": institute_id,
                **{k: v for k, v in p.items() if k != "invoice_id"},
                "receipt_no": first_no + n,
                "recorded_by": actor.user_id,
                "created_at": now,
            }
            for n, p in enumerate(fresh)
        ],
    )
    ids = dict(
        session.exec(
            select(Payment.reference, Payment.id).where(
                Payment.institute_id == institute_id,
                col(Payment.reference).in_([p["reference"] for p in fresh]),
            )
        ).all()
    )
    allocations = [
        {
            "institute_id": institute_id,
            "payment_id": ids[p["reference"]],
            "invoice_line_id": line.line_id,
            "amount_minor": take,
        }
        for p, plan in zip(fresh, plans, strict=True)
        for line, take in plan.parts
    ]
    if allocations:
        session.execute(insert(PaymentAllocation), allocations)
    return ids


def _clean_bulk(
    payments: list[dict[str, Any]], today: date
) -> tuple[list[dict[str, Any]], set[str]]:
    """Each payment checked (reference, amount, method; no reference twice), in order."""
    clean, seen = [], set()
    for n, p in enumerate(payments, start=1):
        reference = (p.get("reference") or "").strip()
        amount = int(p.get("amount_minor") or 0)
        if not reference:
            raise ValidationError(
                f"Payment {n}: enter the transaction reference.", field="reference"
            )
        if amount <= 0:
            raise ValidationError(
                f"Payment {n}: the amount must be more than zero.", field="amount"
            )
        if p.get("method") not in METHODS:
            raise ValidationError(
                f"Payment {n}: choose cash, bank, card, UPI, M-Pesa or other.", field="method"
            )
        if reference in seen:
            raise Conflict(f"Reference {reference} appears twice in this batch.", field="reference")
        seen.add(reference)
        clean.append(
            {
                "student_id": int(p["student_id"]),
                "amount_minor": amount,
                "method": p["method"],
                "reference": reference,
                "received_on": p.get("received_on") or today,
                "invoice_id": p.get("invoice_id"),
            }
        )
    return clean, seen


def _known_students(session: Session, institute_id: int, clean: list[dict[str, Any]]) -> set[int]:
    """The payments' students, all of this institute (otherwise NotFound names the others)."""
    known = set(
        session.exec(
            select(Student.id).where(
                Student.institute_id == institute_id,
                col(Student.id).in_({p["student_id"] for p in clean}),
            )
        )
    )
    missing = {p["student_id"] for p in clean} - known
    if missing:
        raise NotFound(f"No such student: {', '.join(map(str, sorted(missing)))}.")
    return known


def _not_yet_recorded(
    session: Session,
    institute_id: int,
    clean: list[dict[str, Any]],
    seen: set[str],
    currency: str,
) -> list[dict[str, Any]]:
    """The payments whose reference is new; one recorded before with the same student and
    amount is skipped, any other clash refused."""
    existing = {
        e.reference: e
        for e in session.exec(
            select(Payment).where(
                Payment.institute_id == institute_id, col(Payment.reference).in_(seen)
            )
        )
    }
    fresh = []
    for p in clean:
        e = existing.get(p["reference"])
        if e is None:
            fresh.append(p)
        elif (e.student_id, e.amount_minor) != (p["student_id"], p["amount_minor"]):
            raise Conflict(
                f"Reference {p['reference']} was already used for a payment of "
                f"{format_money(e.amount_minor, currency)} (receipt {e.receipt_no}).",
                field="reference",
            )
    return fresh


def _open_lines_of(
    session: Session, institute_id: int, known: set[int]
) -> tuple[dict[int, list[allocation.OpenLine]], dict[int, int], dict[int, list[int]]]:
    """The students' open invoice lines, what each invoice still owes, and [total, paid]."""
    open_lines: dict[int, list[allocation.OpenLine]] = {}
    owed: dict[int, int] = {}  # invoice id → what it still owes
    invoices: dict[int, list[int]] = {}  # id → [total, paid]
    for line_id, line_open, invoice_id, student_id, due_on, total, paid in session.exec(
        select(
            InvoiceLine.id,
            InvoiceLine.amount_minor - InvoiceLine.paid_minor,
            Invoice.id,
            Invoice.student_id,
            Invoice.due_on,
            Invoice.total_minor,
            Invoice.paid_minor,
        )
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(
            Invoice.institute_id == institute_id,
            InvoiceLine.institute_id == institute_id,
            col(Invoice.student_id).in_(known),
            col(Invoice.status).in_(OPEN_INVOICE_VALUES),
            InvoiceLine.paid_minor < InvoiceLine.amount_minor,
        )
    ).all():
        open_lines.setdefault(student_id, []).append(
            allocation.OpenLine(line_id, invoice_id, due_on, int(line_open))
        )
        owed[invoice_id] = total - paid
        invoices[invoice_id] = [total, paid]
    return open_lines, owed, invoices


def _allocate_in_order(
    fresh: list[dict[str, Any]],
    open_lines: dict[int, list[allocation.OpenLine]],
    owed: dict[int, int],
    invoices: dict[int, list[int]],
) -> tuple[list[allocation.Allocation], dict[int, int]]:
    """Each payment allocated after the ones before it; the plans and what each line gets."""
    # Allocate every payment in order (each sees what the ones before it left open), by the
    # same rule as record_payment; refuse before writing anything if one would leave credit.
    line_paid: dict[int, int] = {}
    plans: list[allocation.Allocation] = []
    for p in fresh:
        plan = allocation.allocate_payment(
            p["amount_minor"],
            [
                allocation.OpenLine(
                    line.line_id,
                    line.invoice_id,
                    line.due_on,
                    line.open_minor - line_paid.get(line.line_id, 0),
                )
                for line in open_lines.get(p["student_id"], [])
            ],
            invoice_open=owed,
            invoice_id=p.get("invoice_id"),
        )
        for line, take in plan.parts:
            line_paid[line.line_id] = line_paid.get(line.line_id, 0) + take
            owed[line.invoice_id] -= take
            invoices[line.invoice_id][1] += take
        p["credit_minor"] = plan.credit_minor
        plans.append(plan)
    return plans, line_paid


def _refuse_unasked_credit(fresh: list[dict[str, Any]], allow_credit: bool) -> None:
    over = [p for p in fresh if p["credit_minor"]]
    if over and not allow_credit:
        raise ValidationError(
            f"{plural(len(over), 'payment')} in this batch "
            f"{'is' if len(over) == 1 else 'are'} more than the student owes "
            f"({', '.join(p['reference'] for p in over[:5])}{'…' if len(over) > 5 else ''}); "
            "nothing was recorded. Confirm “record the rest as advance credit” to keep the "
            "difference as credit.",
            field="amount",
        )


def _mark_paid(
    session: Session,
    line_paid: dict[int, int],
    plans: list[allocation.Allocation],
    invoices: dict[int, list[int]],
) -> None:
    """Add what each line was paid, and set each invoice's paid amount and status."""
    # Core updates by key (executemany): the ORM's bulk-by-primary-key path does not take a
    # computed SET, and no ORM objects of these rows are loaded here.
    lines_t, invoices_t = InvoiceLine.__table__, Invoice.__table__
    if line_paid:
        session.execute(
            update(lines_t)
            .where(lines_t.c.id == bindparam("line_id"))
            .values(paid_minor=lines_t.c.paid_minor + bindparam("add")),
            [{"line_id": k, "add": v} for k, v in line_paid.items()],
        )
        touched = {line.invoice_id for plan in plans for line, _ in plan.parts}
        session.execute(
            update(invoices_t)
            .where(invoices_t.c.id == bindparam("invoice_id"))
            .values(paid_minor=bindparam("paid"), status=bindparam("new_status")),
            [
                {
                    "invoice_id": i,
                    "paid": invoices[i][1],
                    "new_status": paid_status(invoices[i][1], invoices[i][0]).value,
                }
                for i in touched
            ],
        )
