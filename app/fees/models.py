"""Fees and the double-entry ledger: accounts, structures, invoices, payments, journal."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core import clock, models_base  # noqa: F401  (naming convention first)
from app.core.models_base import InstituteRow, one_of


class Account(InstituteRow, table=True):
    """A ledger account of the institute's chart (1000 Cash & Bank, 1100 Receivable, …)."""

    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("institute_id", "code"),
        CheckConstraint(
            "type IN ('asset', 'liability', 'income', 'expense', 'equity')", name="type"
        ),
    )

    code: str = Field(max_length=10)
    name: str = Field(max_length=120)
    type: str = Field(max_length=20)


class FeeStructure(InstituteRow, table=True):
    __tablename__ = "fee_structures"
    __table_args__ = (
        UniqueConstraint("institute_id", "name"),
        CheckConstraint("period_kind IN ('term', 'month')", name="period_kind"),
    )

    name: str = Field(max_length=120)
    period_kind: str = Field(default="term", max_length=10)
    due_days: int = Field(default=14)  # an invoice is due this many days after it is issued
    active: bool = Field(default=True)


class FeeItem(InstituteRow, table=True):
    __tablename__ = "fee_items"
    __table_args__ = (
        Index("ix_fee_items_institute_id_structure_id", "institute_id", "structure_id"),
        CheckConstraint("amount_minor > 0", name="amount"),
    )

    structure_id: int = Field(foreign_key="fee_structures.id")
    name: str = Field(max_length=120)
    amount_minor: int
    optional: bool = Field(default=False)
    income_account_id: int = Field(foreign_key="accounts.id")


class InvoiceStatus(StrEnum):
    ISSUED = "issued"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOID = "void"


# Invoices that still ask for money: issued, or paid in part.
OPEN_INVOICE_STATUSES = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID)
OPEN_INVOICE_VALUES = [s.value for s in OPEN_INVOICE_STATUSES]


def paid_status(paid_minor: int, total_minor: int) -> InvoiceStatus:
    """An invoice's status once `paid_minor` of its `total_minor` has been paid."""
    return InvoiceStatus.PAID if paid_minor >= total_minor else InvoiceStatus.PARTIALLY_PAID


class Invoice(InstituteRow, table=True):
    """One student's bill for one structure and period; (student, structure, period) is unique."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("institute_id", "student_id", "structure_id", "period"),
        Index("ix_invoices_institute_id_status_due_on", "institute_id", "status", "due_on"),
        Index("ix_invoices_institute_id_student_id", "institute_id", "student_id"),
        one_of("status", InvoiceStatus),
    )

    student_id: int = Field(foreign_key="students.id")
    structure_id: int = Field(foreign_key="fee_structures.id")
    period: str = Field(max_length=20)  # "2026-T1" or "2026-11"
    issued_on: date
    due_on: date
    total_minor: int
    paid_minor: int = Field(default=0)
    status: str = Field(default=InvoiceStatus.ISSUED.value, max_length=20)
    void_reason: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=clock.now)


class InvoiceLine(InstituteRow, table=True):
    __tablename__ = "invoice_lines"
    __table_args__ = (
        Index("ix_invoice_lines_institute_id_invoice_id", "institute_id", "invoice_id"),
    )

    invoice_id: int = Field(foreign_key="invoices.id")
    description: str = Field(max_length=160)
    amount_minor: int
    paid_minor: int = Field(default=0)
    income_account_id: int = Field(foreign_key="accounts.id")


class Payment(InstituteRow, table=True):
    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("institute_id", "reference"),
        UniqueConstraint("institute_id", "receipt_no"),
        Index("ix_payments_institute_id_student_id", "institute_id", "student_id"),
        CheckConstraint("amount_minor > 0", name="amount"),
        CheckConstraint(
            "method IN ('cash', 'bank', 'card', 'upi', 'mpesa', 'other')", name="method"
        ),
    )

    student_id: int = Field(foreign_key="students.id")
    amount_minor: int
    method: str = Field(max_length=10)
    reference: str = Field(max_length=80)
    received_on: date
    receipt_no: int
    credit_minor: int = Field(
        default=0
    )  # what was left after paying every open line (held in 2000)
    # What the student still owed on open invoices right after this payment (for the receipt);
    # None for payments recorded before it was kept.
    owed_after_minor: int | None = Field(default=None)
    recorded_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=clock.now)


class PaymentAllocation(InstituteRow, table=True):
    __tablename__ = "payment_allocations"
    __table_args__ = (
        Index("ix_payment_allocations_institute_id_payment_id", "institute_id", "payment_id"),
    )

    payment_id: int = Field(foreign_key="payments.id")
    invoice_line_id: int = Field(foreign_key="invoice_lines.id")
    amount_minor: int


class ReceiptCounter(SQLModel, table=True):
    """The next receipt number of an institute (taken under a row lock: numbers have no gaps)."""

    __tablename__ = "receipt_counters"

    institute_id: int = Field(foreign_key="institutes.id", primary_key=True)
    next_no: int = Field(default=1)


class JournalEntry(InstituteRow, table=True):
    """A posted, balanced entry. Never updated or deleted: a void posts a reversal."""

    __tablename__ = "journal_entries"
    __table_args__ = (
        Index("ix_journal_entries_institute_id_posted_at", "institute_id", "posted_at"),
    )

    posted_at: datetime = Field(default_factory=clock.now)
    entry_date: date
    memo: str = Field(max_length=200)
    source_type: str = Field(max_length=20)  # invoice | payment | void | manual
    source_id: int | None = Field(default=None)
    reverses_id: int | None = Field(default=None)


class JournalLine(InstituteRow, table=True):
    __tablename__ = "journal_lines"
    __table_args__ = (
        Index("ix_journal_lines_institute_id_account_id", "institute_id", "account_id"),
        Index("ix_journal_lines_institute_id_entry_id", "institute_id", "entry_id"),
        CheckConstraint(
            "debit_minor >= 0 AND credit_minor >= 0 AND (debit_minor = 0) <> (credit_minor = 0)",
            name="one_side",
        ),
    )

    entry_id: int = Field(foreign_key="journal_entries.id")
    account_id: int = Field(foreign_key="accounts.id")
    debit_minor: int = Field(default=0)
    credit_minor: int = Field(default=0)


class FeeInstalment(InstituteRow, table=True):
    """One step of a structure's instalment plan: a share of the invoice due N days after issue."""

    __tablename__ = "fee_instalments"
    __table_args__ = (
        UniqueConstraint("institute_id", "structure_id", "seq"),
        CheckConstraint("percent > 0 AND percent <= 100", name="percent"),
        CheckConstraint("due_days >= 0", name="due_days"),
    )

    structure_id: int = Field(foreign_key="fee_structures.id")
    seq: int
    percent: int
    due_days: int


class InvoiceInstalment(InstituteRow, table=True):
    """When each part of an invoice is due. Every invoice has at least one (the whole, at due_on).

    `cumulative_minor` is the total due up to and including this instalment, so the part still
    open is clamp(cumulative - invoice.paid, 0, amount) — computed in SQL for aging and alerts.
    """

    __tablename__ = "invoice_instalments"
    __table_args__ = (
        UniqueConstraint("institute_id", "invoice_id", "seq"),
        Index("ix_invoice_instalments_institute_id_due_on", "institute_id", "due_on"),
        CheckConstraint("amount_minor >= 0", name="amount"),
    )

    invoice_id: int = Field(foreign_key="invoices.id")
    seq: int
    due_on: date
    amount_minor: int
    cumulative_minor: int


class StudentDiscount(InstituteRow, table=True):
    """A discount or scholarship for one student: a percent or a fixed amount off each invoice
    (of one structure, or of every structure), with the reason. Applies to invoices issued
    while it is active; it never changes an invoice already issued."""

    __tablename__ = "student_discounts"
    __table_args__ = (
        Index("ix_student_discounts_institute_id_student_id", "institute_id", "student_id"),
        CheckConstraint("kind IN ('discount', 'scholarship')", name="kind"),
        CheckConstraint("(percent IS NULL) <> (amount_minor IS NULL)", name="percent_or_amount"),
        CheckConstraint("percent IS NULL OR (percent > 0 AND percent <= 100)", name="percent"),
        CheckConstraint("amount_minor IS NULL OR amount_minor > 0", name="amount"),
    )

    student_id: int = Field(foreign_key="students.id")
    structure_id: int | None = Field(default=None, foreign_key="fee_structures.id")
    kind: str = Field(default="discount", max_length=12)
    percent: int | None = Field(default=None)
    amount_minor: int | None = Field(default=None)
    reason: str = Field(max_length=200)
    active: bool = Field(default=True)
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=clock.now)
    ended_at: datetime | None = Field(default=None)
