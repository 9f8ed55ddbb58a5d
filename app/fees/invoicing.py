"""Invoice runs (idempotent per student, structure and period), single invoices, voids and balances."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Required, TypedDict, Unpack

from sqlalchemy import insert
from sqlmodel import Session, col, select

from app.academics.models import BatchMembership, Student, StudentStatus
from app.academics.service import my_student_ids
from app.core import audit, clock
from app.core.errors import Conflict, NotFound, ValidationError
from app.core.ownership import get_owned, owned
from app.core.roles import Role
from app.core.tenancy import Actor
from app.fees import ledger, periods
from app.fees.common import current_members_query, today_internal
from app.fees.discounts import discount_lines
from app.fees.models import (
    FeeInstalment,
    FeeItem,
    FeeStructure,
    Invoice,
    InvoiceInstalment,
    InvoiceLine,
    InvoiceStatus,
    JournalEntry,
    StudentDiscount,
)
from app.fees.structures import split_instalments
from app.fees.terms import billing_period
from app.identity.models import Institute


@dataclass(frozen=True)
class RunPlan:
    students: list[int]  # who gets a new invoice
    already: int  # who has one for this structure and period
    per_student_minor: int  # the items' total, before discounts
    items: list[FeeItem]
    discounts: dict[int, list[tuple[str, int]]] = field(default_factory=dict)
    steps: list[tuple[int, int]] = field(default_factory=list)  # (percent, days after issue)
    period: str = ""  # the billing period, as checked for the structure ("2026-T2", "2026-12")

    def discount_of(self, student_id: int) -> int:
        return sum(amount for _, amount in self.discounts.get(student_id, []))

    def net_of(self, student_id: int) -> int:
        return self.per_student_minor - self.discount_of(student_id)

    @property
    def discount_minor(self) -> int:
        return sum(self.discount_of(s) for s in self.students)

    @property
    def total_minor(self) -> int:
        return self.per_student_minor * len(self.students) - self.discount_minor


def _run_plan(
    session: Session,
    actor: Actor,
    *,
    structure_id: int,
    period: str | None = None,
    student_ids: list[int] | None = None,
    batch_id: int | None = None,
    level: str | None = None,
    optional_item_ids: list[int] | None = None,
    roles: tuple[Role, ...] = (Role.ADMIN,),
) -> RunPlan:
    actor.require(*roles)
    institute_id = actor.institute_scope()
    structure = owned(session, FeeStructure, structure_id, institute_id, "fee structure")
    institute = session.get(Institute, institute_id)
    if period is None:  # the period containing today
        period = billing_period(
            structure, clock.today_in(institute.timezone), term_starts=institute.term_starts
        )
    if not period.strip():
        raise ValidationError("Name the period, such as 2026-T1 or 2026-11.", field="period")
    period = periods.check_period(structure.period_kind, period, institute.term_starts)
    items = [
        i
        for i in session.exec(
            select(FeeItem)
            .where(FeeItem.institute_id == institute_id, FeeItem.structure_id == structure_id)
            .order_by(FeeItem.id)
        )
        if not i.optional or i.id in set(optional_item_ids or ())
    ]
    targets = select(Student.id).where(
        Student.institute_id == institute_id, Student.status == StudentStatus.ACTIVE.value
    )
    if student_ids is not None:
        targets = targets.where(col(Student.id).in_(student_ids))
    elif batch_id is not None or level:
        members = current_members_query(institute_id, batch_id=batch_id, level=level)
        targets = targets.where(col(Student.id).in_(members))
    else:
        raise ValidationError("Choose students, a batch or a level to invoice.")
    chosen = list(session.exec(targets.order_by(Student.id)))
    have = set(
        session.exec(
            select(Invoice.student_id).where(
                Invoice.institute_id == institute_id,
                Invoice.structure_id == structure_id,
                Invoice.period == period,
            )
        )
    )
    new = [s for s in chosen if s not in have]
    gross = sum(i.amount_minor for i in items)
    by_student: dict[int, list[StudentDiscount]] = {}
    if new:
        for d in session.exec(
            select(StudentDiscount)
            .where(
                StudentDiscount.institute_id == institute_id,
                col(StudentDiscount.active).is_(True),
                col(StudentDiscount.student_id).in_(targets),
                col(StudentDiscount.structure_id).is_(None)
                | (StudentDiscount.structure_id == structure_id),
            )
            .order_by(StudentDiscount.id)
        ):
            by_student.setdefault(d.student_id, []).append(d)
    currency = session.get(Institute, institute_id).currency
    discounts = {
        sid: lines
        for sid, ds in by_student.items()
        if (lines := discount_lines(ds, gross, currency))
    }
    steps = [
        (i.percent, i.due_days)
        for i in session.exec(
            select(FeeInstalment)
            .where(
                FeeInstalment.institute_id == institute_id,
                FeeInstalment.structure_id == structure_id,
            )
            .order_by(FeeInstalment.seq)
        )
    ] or [(100, structure.due_days)]
    return RunPlan(
        period=period,
        students=new,
        already=len(chosen) - len(new),
        per_student_minor=gross,
        items=items,
        discounts=discounts,
        steps=steps,
    )


class RunScope(TypedDict, total=False):
    """Which students an invoice run bills, for what: the same keywords for the preview, the run
    and the one-student invoice. Students are `student_ids`, else a batch's or a level's current
    members; `period` defaults to the structure's period containing today."""

    structure_id: Required[int]
    period: str | None
    student_ids: list[int] | None
    batch_id: int | None
    level: str | None
    optional_item_ids: list[int] | None


def preview_invoice_run(session: Session, *, actor: Actor, **scope: Unpack[RunScope]) -> RunPlan:
    """What an invoice run would create, writing nothing."""
    return _run_plan(session, actor, **scope)


def invoice_run(
    session: Session, *, actor: Actor, issued_on: date | None = None, **scope: Unpack[RunScope]
) -> RunPlan:
    """Invoice students for a period (default: the structure's period containing today, by
    `billing_period`); idempotent per (student, structure, period). Set-based:
    one insert each for invoices, lines, instalments, journal entries and journal lines.
    Discounts become lines of their own (negative, posted to 4900) so the bill shows them."""
    return _invoice_run(session, actor, issued_on=issued_on, **scope)


def invoice_student(
    session: Session,
    *,
    actor: Actor,
    student_id: int,
    structure_id: int,
    period: str | None = None,
    optional_item_ids: list[int] | None = None,
    issued_on: date | None = None,
) -> Invoice:
    """Bill one student from a fee structure (a new enrolment's first invoice), posted to the
    ledger exactly as an invoice run does; admins and counselors."""
    actor.require(Role.ADMIN, Role.COUNSELOR)
    institute_id = actor.institute_scope()
    student = owned(session, Student, student_id, institute_id, "student")
    if student.status != StudentStatus.ACTIVE:
        raise ValidationError(f"{student.name} is not active, so cannot be invoiced.")
    plan = _invoice_run(
        session,
        actor,
        structure_id=structure_id,
        period=period,
        student_ids=[student_id],
        optional_item_ids=optional_item_ids,
        issued_on=issued_on,
        roles=(Role.ADMIN, Role.COUNSELOR),
    )
    if plan.already:
        raise Conflict(f"{student.name} already has an invoice for this fee structure and period.")
    if not plan.items:
        raise ValidationError("That fee structure has no items to bill.", field="structure_id")
    return session.exec(
        select(Invoice).where(
            Invoice.institute_id == institute_id,
            Invoice.student_id == student_id,
            Invoice.structure_id == structure_id,
            Invoice.period == plan.period,
        )
    ).one()


def _invoice_run(
    session: Session,
    actor: Actor,
    *,
    issued_on: date | None = None,
    roles: tuple[Role, ...] = (Role.ADMIN,),
    **scope: Unpack[RunScope],
) -> RunPlan:
    plan = _run_plan(session, actor, roles=roles, **scope)
    structure_id = scope["structure_id"]
    if not plan.students or not plan.items:
        return plan
    institute_id = actor.institute_scope()
    structure = session.get(FeeStructure, structure_id)
    accounts = ledger.ensure_chart_internal(session, institute_id=institute_id)
    issued = issued_on or today_internal(session, institute_id)
    schedule = {
        sid: split_instalments(plan.net_of(sid), issued, plan.steps) for sid in plan.students
    }
    period = plan.period
    invoices = _insert_invoices(session, institute_id, plan, structure_id, issued, schedule)
    _insert_lines(session, institute_id, plan, invoices, accounts[ledger.DISCOUNTS].id)
    _insert_instalments(session, institute_id, plan, invoices, schedule)
    _post_invoices(session, institute_id, plan, invoices, accounts, structure.name, issued)
    session.flush()
    audit.on(
        session,
        actor,
        "fees.invoice_run",
        structure_id,
        {
            "period": period,
            "created": len(plan.students),
            "already": plan.already,
            "total_minor": plan.total_minor,
            "discount_minor": plan.discount_minor,
        },
        target_type="fee_structure",
    )
    return plan


def _insert_invoices(
    session: Session,
    institute_id: int,
    plan: RunPlan,
    structure_id: int,
    issued: date,
    schedule: dict[int, list[tuple[date, int]]],
) -> dict[int, int]:
    """One invoice per student of the plan, in bulk; their ids by student."""
    period = plan.period
    now = clock.now()
    session.execute(
        insert(Invoice),
        [
            {
                "institute_id": institute_id,
                "student_id": sid,
                "structure_id": structure_id,
                "period": period,
                "issued_on": issued,
                "due_on": schedule[sid][-1][0],
                "total_minor": plan.net_of(sid),
                "paid_minor": 0,
                "status": (
                    InvoiceStatus.ISSUED if plan.net_of(sid) > 0 else InvoiceStatus.PAID
                ).value,
                "created_at": now,
            }
            for sid in plan.students
        ],
    )
    invoices = dict(
        session.exec(
            select(Invoice.student_id, Invoice.id).where(
                Invoice.institute_id == institute_id,
                Invoice.structure_id == structure_id,
                Invoice.period == period,
                col(Invoice.student_id).in_(plan.students),
            )
        ).all()
    )
    return invoices


def _insert_lines(
    session: Session,
    institute_id: int,
    plan: RunPlan,
    invoices: dict[int, int],
    discount_account: int,
) -> None:
    """The structure's items on every invoice, and each student's discounts as negative lines
    (posted to contra-income)."""
    session.execute(
        insert(InvoiceLine),
        [
            {
                "institute_id": institute_id,
                "invoice_id": invoices[sid],
                "description": item.name,
                "amount_minor": item.amount_minor,
                "paid_minor": 0,
                "income_account_id": item.income_account_id,
            }
            for sid in plan.students
            for item in plan.items
        ]
        + [
            {
                "institute_id": institute_id,
                "invoice_id": invoices[sid],
                "description": text,
                "amount_minor": -amount,
                "paid_minor": 0,
                "income_account_id": discount_account,
            }
            for sid in plan.students
            for text, amount in plan.discounts.get(sid, [])
        ],
    )


def _insert_instalments(
    session: Session,
    institute_id: int,
    plan: RunPlan,
    invoices: dict[int, int],
    schedule: dict[int, list[tuple[date, int]]],
) -> None:
    """Each invoice's instalments, with the running total due by each."""
    instalment_rows = []
    for sid in plan.students:
        cumulative = 0
        for seq, (due_on, amount) in enumerate(schedule[sid], start=1):
            cumulative += amount
            instalment_rows.append(
                {
                    "institute_id": institute_id,
                    "invoice_id": invoices[sid],
                    "seq": seq,
                    "due_on": due_on,
                    "amount_minor": amount,
                    "cumulative_minor": cumulative,
                }
            )
    session.execute(insert(InvoiceInstalment), instalment_rows)


def _post_invoices(
    session: Session,
    institute_id: int,
    plan: RunPlan,
    invoices: dict[int, int],
    accounts: Any,
    structure: str,
    issued: date,
) -> None:
    """One journal entry per invoice: receivable (and discounts) against the items' income."""
    period = plan.period
    discount_account = accounts[ledger.DISCOUNTS].id
    receivable = accounts[ledger.RECEIVABLE].id
    ledger.post_many_internal(
        session,
        institute_id=institute_id,
        source_type="invoice",
        entries=[
            ledger.Entry(
                issued,
                f"Invoice {structure} {period}",
                invoices[sid],
                [
                    ledger.Posting(account_id, debit=amount)
                    for account_id, amount in (
                        (receivable, plan.net_of(sid)),
                        (discount_account, plan.discount_of(sid)),
                    )
                    if amount > 0
                ]
                + [ledger.Posting(i.income_account_id, credit=i.amount_minor) for i in plan.items],
            )
            for sid in plan.students
        ],
    )


def invoice_detail(
    session: Session, *, actor: Actor, invoice_id: int
) -> tuple[Invoice, list[InvoiceLine], list[InvoiceInstalment]]:
    """An invoice with its lines (discounts included) and its instalment schedule. Staff, or
    the student whose invoice it is."""
    actor.require(Role.ADMIN, Role.COUNSELOR, Role.STUDENT)
    invoice = get_owned(session, Invoice, actor, invoice_id, "invoice")
    if actor.role == Role.STUDENT:
        student = session.get(Student, invoice.student_id)
        if student is None or student.user_id != actor.user_id:
            raise NotFound("That invoice does not exist.")
    lines = list(
        session.exec(
            select(InvoiceLine)
            .where(InvoiceLine.institute_id == invoice.institute_id)
            .where(InvoiceLine.invoice_id == invoice.id)
            .order_by(InvoiceLine.id)
        )
    )
    parts = list(
        session.exec(
            select(InvoiceInstalment)
            .where(InvoiceInstalment.institute_id == invoice.institute_id)
            .where(InvoiceInstalment.invoice_id == invoice.id)
            .order_by(InvoiceInstalment.seq)
        )
    )
    return invoice, lines, parts


def list_invoices(
    session: Session,
    *,
    actor: Actor,
    student_id: int | None = None,
    status: str | None = None,
    limit: int = 500,
) -> list[Invoice]:
    actor.require(Role.ADMIN, Role.COUNSELOR)
    query = select(Invoice).where(Invoice.institute_id == actor.institute_scope())
    if student_id is not None:
        query = query.where(Invoice.student_id == student_id)
    if status:
        query = query.where(Invoice.status == status)
    return list(session.exec(query.order_by(col(Invoice.id).desc()).limit(limit)))


def active_batch_members_internal(session: Session, *, institute_id: int) -> list[int]:
    """Active students who are in at least one batch today (for monthly coaching fees)."""
    return list(
        session.exec(
            select(Student.id).where(
                Student.institute_id == institute_id,
                Student.status == StudentStatus.ACTIVE.value,
                col(Student.id).in_(
                    select(BatchMembership.student_id).where(
                        BatchMembership.institute_id == institute_id,
                        col(BatchMembership.left_on).is_(None),
                    )
                ),
            )
        )
    )


def my_invoices(session: Session, *, actor: Actor) -> list[Invoice]:
    """A student's own invoices (identity from the session, never a parameter)."""
    mine = my_student_ids(actor)
    return list(
        session.exec(
            select(Invoice)
            .where(Invoice.institute_id == actor.institute_id, col(Invoice.student_id).in_(mine))
            .order_by(col(Invoice.due_on).desc())
        )
    )


def void_invoice(session: Session, *, actor: Actor, invoice_id: int, reason: str) -> Invoice:
    """Void an unpaid invoice: its ledger entry is reversed; nothing posted is changed."""
    actor.require(Role.ADMIN)
    invoice = get_owned(session, Invoice, actor, invoice_id, "invoice")
    if invoice.status == InvoiceStatus.VOID:
        raise ValidationError("This invoice is already void.")
    if invoice.paid_minor:
        raise ValidationError("Payments were applied to this invoice; it cannot be voided.")
    if not (reason or "").strip():
        raise ValidationError("Say why the invoice is voided.", field="reason")
    entry = session.exec(
        select(JournalEntry).where(
            JournalEntry.institute_id == invoice.institute_id,
            JournalEntry.source_type == "invoice",
            JournalEntry.source_id == invoice.id,
        )
    ).one()
    ledger.reverse(
        session,
        entry=entry,
        entry_date=today_internal(session, invoice.institute_id),
        memo=f"Void of invoice #{invoice.id}: {reason.strip()}"[:200],
    )
    invoice.status, invoice.void_reason = InvoiceStatus.VOID.value, reason.strip()[:300]
    audit.save_audited(
        session,
        invoice,
        "fees.invoice_void",
        actor=actor,
        target_type="invoice",
        detail={"reason": invoice.void_reason},
    )
    return invoice
