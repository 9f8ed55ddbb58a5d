"""Payments: the one allocation rule, receipts numbered without gaps, an overpayment kept as
advance credit only when confirmed, and what each student still owes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, insert, update
from sqlmodel import Session, col, select

from app.academics.models import Student
from app.core import audit
from app.core.errors import Conflict, ValidationError
from app.core.money import format_money
from app.core.ownership import all_owned, owned
from app.core.roles import Role
from app.core.tenancy import Actor
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
    receipt_no = next_receipt_no_internal(session, institute_id)
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
        owed_after_minor=owed_internal(session, institute_id, [student_id]).get(student_id, 0)
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
    audit.on(
        session,
        actor,
        "fees.payment",
        payment.id,
        {
            "amount_minor": amount_minor,
            "method": method,
            "receipt_no": receipt_no,
            "credit_minor": remaining,
        },
        target_type="payment",
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


def owed_internal(session: Session, institute_id: int, student_ids) -> dict[int, int]:
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


def next_receipt_no_internal(session: Session, institute_id: int, count: int = 1) -> int:
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
