"""Fee structures, idempotent invoice runs, payments with receipts, voids — all posted to the ledger.

This module gathers the subdomain modules' names (`app.fees.common`, `app.fees.discounts`,
`app.fees.invoicing`, `app.fees.payments`, `app.fees.structures`, `app.fees.terms`) so callers
keep one import."""

from __future__ import annotations

from app.fees.bulk import record_payments_bulk
from app.fees.common import (
    METHODS,
    actor_institute,
    today_internal,
)
from app.fees.discounts import (
    describe_discount,
    discount_lines,
    end_discount,
    grant_discount,
    list_discounts,
)
from app.fees.invoicing import (
    RunPlan,
    active_batch_members_internal,
    invoice_detail,
    invoice_run,
    invoice_student,
    list_invoices,
    my_invoices,
    preview_invoice_run,
    void_invoice,
)
from app.fees.payments import (
    Balance,
    open_receivables_internal,
    record_payment,
    student_balance,
)
from app.fees.structures import (
    create_structure,
    instalment_plan,
    list_structures,
    set_instalment_plan,
    split_instalments,
    structure_items,
)
from app.fees.terms import (
    billing_period,
    current_period,
    set_term_starts,
    term_bounds,
    term_starts,
)

__all__ = [
    "Balance",
    "METHODS",
    "RunPlan",
    "active_batch_members_internal",
    "actor_institute",
    "billing_period",
    "create_structure",
    "current_period",
    "describe_discount",
    "discount_lines",
    "end_discount",
    "grant_discount",
    "instalment_plan",
    "invoice_detail",
    "invoice_run",
    "invoice_student",
    "list_discounts",
    "list_invoices",
    "list_structures",
    "my_invoices",
    "open_receivables_internal",
    "preview_invoice_run",
    "record_payment",
    "record_payments_bulk",
    "set_instalment_plan",
    "set_term_starts",
    "split_instalments",
    "structure_items",
    "student_balance",
    "term_bounds",
    "term_starts",
    "today_internal",
    "void_invoice",
]
