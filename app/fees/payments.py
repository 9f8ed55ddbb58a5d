"""Payments: the one allocation rule, receipts numbered without gaps, an overpayment kept as
advance credit only when confirmed, and what each student still owes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, func, insert, update
from sqlmodel import Session, col, select

from app.academics.models import Student
from app.core import audit, clock
from app.core.errors import Conflict, NotFound, ValidationError
from app.core.money import format_money
from app.core.ownership import all_owned, owned
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
    ReceiptCounter,
    paid_status,
)
from app.identity.models import Institute


def record_payment(
    session: Session,
    *,
    actor: Actor,
    student_id: int,
    amount_minor: int,
    method: str,
    reference: str,
    received_on: date | None = None,
    invoice_id: int | None = None,
    allow_credit: bool = False,
) -> Payment:
    """Take a payment: idempotent by reference; allocated by the one rule of
    `app.fees.allocation` (the named invoice first, then the earliest due, then the older
    invoice). An amount above what the student owes is refused unless `allow_credit` (the
    person confirmed "record the rest as advance credit"); the rest is then held as credit
    (2000). Receipt numbers are sequential per institute without gaps."""
    actor.require(Role.ADMIN)
    institute_id = actor.institute_scope()
    currency = session.get(Institute, institute_id).currency
    reference = _checked_fields(reference, amount_minor, method)
    _check_ids(session, institute_id, student_id, invoice_id)
    repeat = _repeat_of(session, institute_id, reference, student_id, amount_minor, currency)
    if repeat is not None:
        return repeat  # a retry of the same payment records nothing twice
    # The receipt number first: its row lock (PostgreSQL) makes payments of one institute wait
    # for each other, so the open lines read below are not being paid by another payment.
    receipt_no = _next_receipt_no(session, institute_id)
    rows = _open_lines_of_student(session, institute_id, student_id)
    open_lines = [
        allocation.OpenLine(
            line.id, invoice.id, invoice.due_on, line.amount_minor - line.paid_minor
        )
        for line, invoice in rows
    ]
    invoice_open = {i.id: i.total_minor - i.paid_minor for _, i in rows}
    plan = allocation.allocate_payment(
        amount_minor, open_lines, invoice_open=invoice_open, invoice_id=invoice_id
    )
    if plan.credit_minor and not allow_credit:
        # The transaction is rolled back by the caller: the receipt number taken is not used.
        raise ValidationError(_overpayment_message(plan, amount_minor, currency), field="amount")
    payment = Payment(
        institute_id=institute_id,
        student_id=student_id,
        amount_minor=amount_minor,
        method=method,
        reference=reference,
        received_on=received_on or today_internal(session, institute_id),
        receipt_no=receipt_no,
        credit_minor=plan.credit_minor,
        owed_after_minor=_owed(session, institute_id, [student_id]).get(student_id, 0)
        - plan.applied_minor,
        recorded_by=actor.user_id,
    )
    session.add(payment)
    session.flush()
    _apply_allocation(session, institute_id, payment, plan, rows)
    remaining = plan.credit_minor
    accounts = ledger.ensure_chart_internal(session, institute_id=institute_id)
    postings = ledger.payment_postings(accounts, amount_minor, remaining)
    ledger.post_internal(
        session,
        institute_id=institute_id,
        entry_date=payment.received_on,
        memo=f"Payment {reference} receipt {receipt_no}",
        source_type="payment",
        source_id=payment.id,
        postings=postings,
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="fees.payment",
        target_type="payment",
        target_id=payment.id,
        detail={
            "amount_minor": amount_minor,
            "method": method,
            "receipt_no": receipt_no,
            "credit_minor": remaining,
        },
    )
    return payment


def _checked_fields(reference: str, amount_minor: int, method: str) -> str:
    """The reference, trimmed, once reference, amount and method are valid."""
    reference = (reference or "").strip()
    if not reference:
        raise ValidationError(
            "Enter the transaction reference (for cash, the counter slip number).",
            field="reference",
        )
    if amount_minor <= 0:
        raise ValidationError("The amount must be more than zero.", field="amount")
    if method not in METHODS:
        raise ValidationError("Choose cash, bank, card, UPI, M-Pesa or other.", field="method")
    return reference


def _check_ids(
    session: Session, institute_id: int, student_id: int, invoice_id: int | None
) -> None:
    """The student, and the invoice named to pay first, are this institute's (and theirs)."""
    owned(session, Student, student_id, institute_id, "student")
    if invoice_id is not None:
        all_owned(
            session,
            Invoice,
            [invoice_id],
            institute_id,
            message="Choose an invoice of this student (or none: the oldest is paid first).",
            field="invoice_id",
            student_id=student_id,
        )


def _repeat_of(
    session: Session,
    institute_id: int,
    reference: str,
    student_id: int,
    amount_minor: int,
    currency: str,
) -> Payment | None:
    """The payment already recorded under this reference, when it is this one again; another
    payment under it is refused."""
    existing = session.exec(
        select(Payment).where(Payment.institute_id == institute_id, Payment.reference == reference)
    ).first()
    if existing is not None:
        if existing.student_id == student_id and existing.amount_minor == amount_minor:
            return existing
        raise Conflict(
            f"Reference {reference} was already used for a payment of "
            f"{format_money(existing.amount_minor, currency)} (receipt {existing.receipt_no}). "
            "Check the reference.",
            field="reference",
        )
    return None


def _open_lines_of_student(session: Session, institute_id: int, student_id: int) -> Any:
    """The student's open invoice lines with their invoices."""
    rows = session.exec(
        select(InvoiceLine, Invoice)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(
            Invoice.institute_id == institute_id,
            InvoiceLine.institute_id == institute_id,
            Invoice.student_id == student_id,
            col(Invoice.status).in_(OPEN_INVOICE_VALUES),
            InvoiceLine.paid_minor < InvoiceLine.amount_minor,
        )
    ).all()
    return rows


def _apply_allocation(
    session: Session,
    institute_id: int,
    payment: Payment,
    plan: allocation.Allocation,
    rows: Any,
) -> None:
    """What the plan pays on each line and invoice (status follows), and the allocation rows."""
    lines = {line.id: line for line, _ in rows}
    invoices = {invoice.id: invoice for _, invoice in rows}
    for part, take in plan.parts:
        lines[part.line_id].paid_minor += take
        invoices[part.invoice_id].paid_minor += take
        session.add(lines[part.line_id])
    for invoice_key in plan.by_invoice():
        invoice = invoices[invoice_key]
        invoice.status = paid_status(invoice.paid_minor, invoice.total_minor).value
        session.add(invoice)
    if plan.parts:
        session.execute(
            insert(PaymentAllocation),
            [
                {
                    "institute_id": institute_id,
                    "payment_id": payment.id,
                    "invoice_line_id": part.line_id,
                    "amount_minor": take,
                }
                for part, take in plan.parts
            ],
        )


def _owed(session: Session, institute_id: int, student_ids) -> dict[int, int]:
    """What each student owes on open invoices (one grouped query)."""
    return {
        sid: int(owed)
        for sid, owed in session.exec(
            select(Invoice.student_id, func.sum(Invoice.total_minor - Invoice.paid_minor))
            .where(
                Invoice.institute_id == institute_id,
                col(Invoice.student_id).in_(list(student_ids)),
                col(Invoice.status).in_(OPEN_INVOICE_VALUES),
            )
            .group_by(Invoice.student_id)
        ).all()
    }


def _overpayment_message(plan: allocation.Allocation, amount_minor: int, currency: str) -> str:
    owed, credit = plan.applied_minor, plan.credit_minor
    if owed == 0:
        return (
            f"Nothing is owed right now: all of {format_money(amount_minor, currency)} would be "
            "held as advance credit. Confirm “record the rest as advance credit” to keep it for "
            "later invoices."
        )
    return (
        f"{format_money(amount_minor, currency)} is more than the open balance of "
        f"{format_money(owed, currency)}: {format_money(credit, currency)} would be held as "
        f"advance credit. Take {format_money(owed, currency)}, or confirm “record the rest as "
        "advance credit”."
    )


def _next_receipt_no(session: Session, institute_id: int, count: int = 1) -> int:
    """Take the next receipt number (or `count` consecutive ones; the first is returned) under a
    row lock (PostgreSQL) / the write lock (SQLite)."""
    query = select(ReceiptCounter).where(ReceiptCounter.institute_id == institute_id)
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(
            pg_insert(ReceiptCounter)
            .values(institute_id=institute_id, next_no=1)
            .on_conflict_do_nothing(index_elements=["institute_id"])
        )
        query = query.with_for_update()
    counter = session.exec(query).first()
    if counter is None:
        counter = ReceiptCounter(institute_id=institute_id, next_no=1)
        session.add(counter)
        session.flush()
    number = counter.next_no
    session.execute(
        update(ReceiptCounter)
        .where(ReceiptCounter.institute_id == institute_id)
        .values(next_no=number + count)
    )
    return number


@dataclass(frozen=True)
class Balance:
    owed_minor: int
    credit_minor: int


def student_balance(session: Session, *, actor: Actor, student_id: int) -> Balance:
    """What a student owes on open invoices, and their unused credit."""
    actor.require(Role.ADMIN, Role.COUNSELOR)
    institute_id = actor.institute_scope()
    owed = session.exec(
        select(func.coalesce(func.sum(Invoice.total_minor - Invoice.paid_minor), 0)).where(
            Invoice.institute_id == institute_id,
            Invoice.student_id == student_id,
            col(Invoice.status).in_(OPEN_INVOICE_VALUES),
        )
    ).one()
    credit = session.exec(
        select(func.coalesce(func.sum(Payment.credit_minor), 0)).where(
            Payment.institute_id == institute_id, Payment.student_id == student_id
        )
    ).one()
    return Balance(int(owed), int(credit))


def open_receivables_internal(session: Session, *, institute_id: int) -> int:
    """The sum of open invoice balances (equals the 1100 balance when the books are right)."""
    return int(
        session.exec(
            select(func.coalesce(func.sum(Invoice.total_minor - Invoice.paid_minor), 0)).where(
                Invoice.institute_id == institute_id,
                col(Invoice.status).in_(OPEN_INVOICE_VALUES),
            )
        ).one()
    )


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
    first_no = _next_receipt_no(session, institute_id, count=len(fresh))
    open_lines, owed, invoices = _open_lines_of(session, institute_id, known)
    plans, line_paid = _allocate_in_order(fresh, open_lines, owed, invoices)
    _refuse_unasked_credit(fresh, allow_credit)
    owed_now = _owed(session, institute_id, known)
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
