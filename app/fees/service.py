"""Fee structures, idempotent invoice runs, payments with receipts, voids — all posted to the ledger."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import bindparam, delete, func, insert, update
from sqlmodel import Session, col, select

from app.academics.models import Batch, BatchMembership, Student
from app.core import audit, clock
from app.core.errors import Conflict, NotFound, ValidationError
from app.core.money import allocate, format_money
from app.core.ownership import all_owned, owned
from app.core.roles import Role
from app.core.tenancy import Actor
from app.core.text import plural
from app.fees import allocation, ledger, periods
from app.fees.models import (
    Account,
    FeeInstalment,
    FeeItem,
    FeeStructure,
    Invoice,
    InvoiceInstalment,
    InvoiceLine,
    JournalEntry,
    Payment,
    PaymentAllocation,
    ReceiptCounter,
    StudentDiscount,
)
from app.identity.models import Institute

METHODS = ("cash", "bank", "card", "upi", "mpesa", "other")


def _institute(session: Session, actor: Actor) -> Institute:
    return session.get(Institute, actor.institute_scope())


def _today(session: Session, institute_id: int) -> date:
    return clock.today_in(session.get(Institute, institute_id).timezone)


# ------------------------------------------------------------------ billing periods


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
    institute = _institute(session, actor)
    structure = session.get(FeeStructure, structure_id)
    if structure is None or structure.institute_id != institute.id:
        raise NotFound("That fee structure does not exist.")
    day = on_date or clock.today_in(institute.timezone)
    return billing_period(structure, day, term_starts=institute.term_starts)


def term_bounds(session: Session, *, actor: Actor, period: str) -> tuple[date, date]:
    """The first and last day of a billing period ("2026-T2" or "2026-12")."""
    actor.require(Role.ADMIN, Role.COUNSELOR)
    terms = _institute(session, actor).term_starts
    term = periods.term_by_key(period, terms)
    if term is not None:
        return term.starts_on, term.ends_on
    first = date.fromisoformat(f"{periods.check_period('month', period)}-01")
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def term_starts(session: Session, *, actor: Actor) -> str:
    """The institute's term starts ("01-01,07-01"): staff read them to name periods."""
    actor.require(Role.ADMIN, Role.COUNSELOR)
    return _institute(session, actor).term_starts


def set_term_starts(session: Session, *, actor: Actor, starts: str) -> str:
    """Set when the institute's billing terms start (month-day, in year order). Invoices
    already issued keep their period; per-term runs bill the new terms from now on."""
    actor.require(Role.ADMIN)
    institute = _institute(session, actor)
    clean = periods.format_term_starts(periods.parse_term_starts(starts))
    if clean != institute.term_starts:
        before = institute.term_starts
        institute.term_starts = clean
        session.add(institute)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="fees.term_starts",
            target_type="institute",
            target_id=institute.id,
            detail={"from": before, "to": clean},
        )
    return clean


# ------------------------------------------------------------------ structures


def create_structure(
    session: Session,
    *,
    actor: Actor,
    name: str,
    items: list[dict],
    period_kind: str = "term",
    due_days: int = 14,
    instalments: list[tuple[int, int]] | None = None,
) -> FeeStructure:
    """A fee structure with its items; each item gets its own income account (4000+).
    `instalments`, if given, is the plan: (percent, days after issue) per part."""
    actor.require(Role.ADMIN)
    institute_id = actor.institute_scope()
    if not (name or "").strip():
        raise ValidationError("The fee structure needs a name.", field="name")
    if period_kind not in ("term", "month"):
        raise ValidationError(
            "A fee structure is billed per term or per month.", field="period_kind"
        )
    if not items:
        raise ValidationError("Add at least one fee item.", field="items")
    if session.exec(
        select(FeeStructure.id).where(
            FeeStructure.institute_id == institute_id,
            func.lower(FeeStructure.name) == name.strip().lower(),
        )
    ).first():
        raise Conflict(f"A fee structure called {name.strip()} already exists.", field="name")
    accounts = ledger.ensure_chart_internal(session, institute_id=institute_id)
    structure = FeeStructure(
        institute_id=institute_id, name=name.strip(), period_kind=period_kind, due_days=due_days
    )
    session.add(structure)
    session.flush()
    by_name = {a.name.lower(): a for a in accounts.values() if a.type == "income"}
    next_code = (
        max(int(c) for c, a in accounts.items() if a.type == "income" and c < ledger.DISCOUNTS) + 10
    )
    for item in items:
        item_name = (item.get("name") or "").strip()
        amount = int(item.get("amount_minor") or 0)
        if not item_name:
            raise ValidationError("Every fee item needs a name.", field="items")
        if amount <= 0:
            raise ValidationError(f"{item_name}: the amount must be more than zero.", field="items")
        label = "Tuition income" if item_name.lower() == "tuition" else f"{item_name} income"
        account = by_name.get(label.lower())
        if account is None:
            account = Account(
                institute_id=institute_id, code=str(next_code), name=label, type="income"
            )
            session.add(account)
            session.flush()
            by_name[label.lower()] = account
            next_code += 10
        session.add(
            FeeItem(
                institute_id=institute_id,
                structure_id=structure.id,
                name=item_name,
                amount_minor=amount,
                optional=bool(item.get("optional")),
                income_account_id=account.id,
            )
        )
    session.flush()
    if instalments:
        _write_plan(session, institute_id, structure.id, instalments)
    audit.record(
        session,
        actor=actor,
        action="fees.structure_create",
        target_type="fee_structure",
        target_id=structure.id,
        detail={"name": structure.name, "items": len(items)},
    )
    return structure


def _check_plan(steps: list[tuple[int, int]]) -> list[tuple[int, int]]:
    clean = []
    for n, (percent, due_days) in enumerate(steps, start=1):
        try:
            percent, due_days = int(percent), int(due_days)
        except (TypeError, ValueError):
            raise ValidationError(
                f"Instalment {n}: give a whole percent and a number of days.", field="instalments"
            ) from None
        if not 0 < percent <= 100:
            raise ValidationError(
                f"Instalment {n}: the share is between 1% and 100%.", field="instalments"
            )
        if due_days < 0 or due_days > 366:
            raise ValidationError(
                f"Instalment {n}: due 0 to 366 days after the invoice is issued.",
                field="instalments",
            )
        if clean and due_days < clean[-1][1]:
            raise ValidationError(
                f"Instalment {n} falls due before instalment {n - 1}; list them in date order.",
                field="instalments",
            )
        clean.append((percent, due_days))
    total = sum(p for p, _ in clean)
    if clean and total != 100:
        raise ValidationError(
            f"The instalments add up to {total}%; they must add up to 100%.", field="instalments"
        )
    return clean


def _write_plan(
    session: Session, institute_id: int, structure_id: int, steps: list[tuple[int, int]]
) -> None:
    steps = _check_plan(steps)
    session.execute(
        delete(FeeInstalment).where(
            FeeInstalment.institute_id == institute_id, FeeInstalment.structure_id == structure_id
        )
    )
    for seq, (percent, due_days) in enumerate(steps, start=1):
        session.add(
            FeeInstalment(
                institute_id=institute_id,
                structure_id=structure_id,
                seq=seq,
                percent=percent,
                due_days=due_days,
            )
        )
    session.flush()


def set_instalment_plan(
    session: Session, *, actor: Actor, structure_id: int, steps: list[tuple[int, int]]
) -> list[FeeInstalment]:
    """Replace a structure's instalment plan (percent, days after issue); an empty plan means
    one payment due `due_days` after issue. Invoices already issued keep their schedule."""
    actor.require(Role.ADMIN)
    institute_id = actor.institute_scope()
    structure = session.get(FeeStructure, structure_id)
    if structure is None or structure.institute_id != institute_id:
        raise NotFound("That fee structure does not exist.")
    _write_plan(session, institute_id, structure_id, steps)
    audit.record(
        session,
        actor=actor,
        action="fees.instalment_plan",
        target_type="fee_structure",
        target_id=structure_id,
        detail={"steps": [list(x) for x in _check_plan(steps)]},
    )
    return instalment_plan(session, actor=actor, structure_id=structure_id)


def instalment_plan(session: Session, *, actor: Actor, structure_id: int) -> list[FeeInstalment]:
    actor.require(Role.ADMIN, Role.COUNSELOR)
    return list(
        session.exec(
            select(FeeInstalment)
            .where(
                FeeInstalment.institute_id == actor.institute_scope(),
                FeeInstalment.structure_id == structure_id,
            )
            .order_by(FeeInstalment.seq)
        )
    )


def split_instalments(
    total_minor: int, issued: date, steps: list[tuple[int, int]]
) -> list[tuple[date, int]]:
    """(due date, amount) per part, split by `money.allocate` (the one splitting rule: shares
    in proportion to the percents, no unit lost), so the parts always add up to the total."""
    amounts = allocate(total_minor, [percent for percent, _ in steps])
    return [
        (issued + timedelta(days=due_days), amount)
        for (_, due_days), amount in zip(steps, amounts, strict=True)
    ]


# ------------------------------------------------------------------ discounts


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
    student = session.get(Student, student_id)
    if student is None or student.institute_id != institute_id:
        raise NotFound("That student does not exist.")
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
        structure = session.get(FeeStructure, structure_id)
        if structure is None or structure.institute_id != institute_id:
            raise NotFound("That fee structure does not exist.")
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
    audit.record(
        session,
        actor=actor,
        action="fees.discount_grant",
        target_type="student",
        target_id=student_id,
        detail={
            "kind": kind,
            "percent": discount.percent,
            "amount_minor": discount.amount_minor,
            "structure_id": structure_id,
            "reason": discount.reason,
        },
    )
    return discount


def end_discount(session: Session, *, actor: Actor, discount_id: int) -> StudentDiscount:
    """Stop a discount for future invoices (issued invoices keep theirs)."""
    actor.require(Role.ADMIN)
    discount = session.get(StudentDiscount, discount_id)
    if discount is None or discount.institute_id != actor.institute_scope():
        raise NotFound("That discount does not exist.")
    if discount.active:
        discount.active, discount.ended_at = False, clock.now()
        session.add(discount)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="fees.discount_end",
            target_type="student",
            target_id=discount.student_id,
            detail={"discount_id": discount.id},
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


def _discount_lines(
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


def structure_items(session: Session, *, actor: Actor, structure_id: int) -> list[FeeItem]:
    actor.require(Role.ADMIN)
    return list(
        session.exec(
            select(FeeItem)
            .where(
                FeeItem.institute_id == actor.institute_scope(),
                FeeItem.structure_id == structure_id,
            )
            .order_by(FeeItem.id)
        )
    )


def list_structures(session: Session, *, actor: Actor) -> list[FeeStructure]:
    actor.require(Role.ADMIN, Role.COUNSELOR)
    return list(
        session.exec(
            select(FeeStructure)
            .where(FeeStructure.institute_id == actor.institute_scope())
            .order_by(FeeStructure.name)
        )
    )


# ------------------------------------------------------------------ invoice runs


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
    student_ids: list[int] | None,
    batch_id: int | None,
    level: str | None,
    optional_item_ids: list[int],
    roles: tuple[Role, ...] = (Role.ADMIN,),
) -> RunPlan:
    actor.require(*roles)
    institute_id = actor.institute_scope()
    structure = session.get(FeeStructure, structure_id)
    if structure is None or structure.institute_id != institute_id:
        raise NotFound("That fee structure does not exist.")
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
        if not i.optional or i.id in set(optional_item_ids)
    ]
    targets = select(Student.id).where(
        Student.institute_id == institute_id, Student.status == "active"
    )
    if student_ids is not None:
        targets = targets.where(col(Student.id).in_(student_ids))
    elif batch_id is not None or level:
        members = (
            select(BatchMembership.student_id)
            .join(Batch, Batch.id == BatchMembership.batch_id)
            .where(
                BatchMembership.institute_id == institute_id, col(BatchMembership.left_on).is_(None)
            )
        )
        if batch_id is not None:
            members = members.where(BatchMembership.batch_id == batch_id)
        if level:
            members = members.where(Batch.level == level)
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
        if (lines := _discount_lines(ds, gross, currency))
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


def preview_invoice_run(
    session: Session,
    *,
    actor: Actor,
    structure_id: int,
    period: str | None = None,
    student_ids: list[int] | None = None,
    batch_id: int | None = None,
    level: str | None = None,
    optional_item_ids: list[int] | None = None,
) -> RunPlan:
    """What an invoice run would create, writing nothing."""
    return _run_plan(
        session,
        actor,
        structure_id=structure_id,
        period=period,
        student_ids=student_ids,
        batch_id=batch_id,
        level=level,
        optional_item_ids=optional_item_ids or [],
    )


def invoice_run(
    session: Session,
    *,
    actor: Actor,
    structure_id: int,
    period: str | None = None,
    student_ids: list[int] | None = None,
    batch_id: int | None = None,
    level: str | None = None,
    optional_item_ids: list[int] | None = None,
    issued_on: date | None = None,
) -> RunPlan:
    """Invoice students for a period (default: the structure's period containing today, by
    `billing_period`); idempotent per (student, structure, period). Set-based:
    one insert each for invoices, lines, instalments, journal entries and journal lines.
    Discounts become lines of their own (negative, posted to 4900) so the bill shows them."""
    return _invoice_run(
        session,
        actor,
        structure_id=structure_id,
        period=period,
        student_ids=student_ids,
        batch_id=batch_id,
        level=level,
        optional_item_ids=optional_item_ids,
        issued_on=issued_on,
    )


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
    student = session.get(Student, student_id)
    if student is None or student.institute_id != institute_id:
        raise NotFound("That student does not exist.")
    if student.status != "active":
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
    structure_id: int,
    period: str | None = None,
    student_ids: list[int] | None = None,
    batch_id: int | None = None,
    level: str | None = None,
    optional_item_ids: list[int] | None = None,
    issued_on: date | None = None,
    roles: tuple[Role, ...] = (Role.ADMIN,),
) -> RunPlan:
    plan = _run_plan(
        session,
        actor,
        structure_id=structure_id,
        period=period,
        student_ids=student_ids,
        batch_id=batch_id,
        level=level,
        optional_item_ids=optional_item_ids or [],
        roles=roles,
    )
    if not plan.students or not plan.items:
        return plan
    institute_id = actor.institute_scope()
    structure = session.get(FeeStructure, structure_id)
    accounts = ledger.ensure_chart_internal(session, institute_id=institute_id)
    issued = issued_on or _today(session, institute_id)
    schedule = {
        sid: split_instalments(plan.net_of(sid), issued, plan.steps) for sid in plan.students
    }
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
                "status": "issued" if plan.net_of(sid) > 0 else "paid",
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
    discount_account = accounts[ledger.DISCOUNTS].id
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
    receivable = accounts[ledger.RECEIVABLE].id
    ledger.post_many_internal(
        session,
        institute_id=institute_id,
        source_type="invoice",
        entries=[
            ledger.Entry(
                issued,
                f"Invoice {structure.name} {period}",
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
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="fees.invoice_run",
        target_type="fee_structure",
        target_id=structure_id,
        detail={
            "period": period,
            "created": len(plan.students),
            "already": plan.already,
            "total_minor": plan.total_minor,
            "discount_minor": plan.discount_minor,
        },
    )
    return plan


def invoice_detail(
    session: Session, *, actor: Actor, invoice_id: int
) -> tuple[Invoice, list[InvoiceLine], list[InvoiceInstalment]]:
    """An invoice with its lines (discounts included) and its instalment schedule. Staff, or
    the student whose invoice it is."""
    actor.require(Role.ADMIN, Role.COUNSELOR, Role.STUDENT)
    invoice = session.get(Invoice, invoice_id)
    if invoice is None or invoice.institute_id != actor.institute_scope():
        raise NotFound("That invoice does not exist.")
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
                Student.status == "active",
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
    actor.require(Role.STUDENT)
    mine = select(Student.id).where(
        Student.institute_id == actor.institute_scope(), Student.user_id == actor.user_id
    )
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
    invoice = session.get(Invoice, invoice_id)
    if invoice is None or invoice.institute_id != actor.institute_scope():
        raise NotFound("That invoice does not exist.")
    if invoice.status == "void":
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
        entry_date=_today(session, invoice.institute_id),
        memo=f"Void of invoice #{invoice.id}: {reason.strip()}"[:200],
    )
    invoice.status, invoice.void_reason = "void", reason.strip()[:300]
    session.add(invoice)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="fees.invoice_void",
        target_type="invoice",
        target_id=invoice.id,
        detail={"reason": invoice.void_reason},
    )
    return invoice


# ------------------------------------------------------------------ payments


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
    existing = session.exec(
        select(Payment).where(Payment.institute_id == institute_id, Payment.reference == reference)
    ).first()
    if existing is not None:
        if existing.student_id == student_id and existing.amount_minor == amount_minor:
            return existing  # a retry of the same payment records nothing twice
        raise Conflict(
            f"Reference {reference} was already used for a payment of "
            f"{format_money(existing.amount_minor, currency)} (receipt {existing.receipt_no}). "
            "Check the reference.",
            field="reference",
        )
    # The receipt number first: its row lock (PostgreSQL) makes payments of one institute wait
    # for each other, so the open lines read below are not being paid by another payment.
    receipt_no = _next_receipt_no(session, institute_id)
    rows = session.exec(
        select(InvoiceLine, Invoice)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(
            Invoice.institute_id == institute_id,
            InvoiceLine.institute_id == institute_id,
            Invoice.student_id == student_id,
            col(Invoice.status).in_(["issued", "partially_paid"]),
            InvoiceLine.paid_minor < InvoiceLine.amount_minor,
        )
    ).all()
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
        received_on=received_on or _today(session, institute_id),
        receipt_no=receipt_no,
        credit_minor=plan.credit_minor,
        owed_after_minor=_owed(session, institute_id, [student_id]).get(student_id, 0)
        - plan.applied_minor,
        recorded_by=actor.user_id,
    )
    session.add(payment)
    session.flush()
    lines = {line.id: line for line, _ in rows}
    invoices = {invoice.id: invoice for _, invoice in rows}
    for part, take in plan.parts:
        lines[part.line_id].paid_minor += take
        invoices[part.invoice_id].paid_minor += take
        session.add(lines[part.line_id])
    for invoice_key in plan.by_invoice():
        invoice = invoices[invoice_key]
        invoice.status = "paid" if invoice.paid_minor >= invoice.total_minor else "partially_paid"
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


def _owed(session: Session, institute_id: int, student_ids) -> dict[int, int]:
    """What each student owes on open invoices (one grouped query)."""
    return {
        sid: int(owed)
        for sid, owed in session.exec(
            select(Invoice.student_id, func.sum(Invoice.total_minor - Invoice.paid_minor))
            .where(
                Invoice.institute_id == institute_id,
                col(Invoice.student_id).in_(list(student_ids)),
                col(Invoice.status).in_(["issued", "partially_paid"]),
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
            col(Invoice.status).in_(["issued", "partially_paid"]),
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
                col(Invoice.status).in_(["issued", "partially_paid"]),
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
    today = _today(session, institute_id)
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
    if not clean:
        return 0
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
    if not fresh:
        return 0
    # Receipt numbers first: the counter's row lock serialises payments of the institute, so
    # the open lines read below are not being paid meanwhile (a refusal rolls it all back).
    first_no = _next_receipt_no(session, institute_id, count=len(fresh))
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
            col(Invoice.status).in_(["issued", "partially_paid"]),
            InvoiceLine.paid_minor < InvoiceLine.amount_minor,
        )
    ).all():
        open_lines.setdefault(student_id, []).append(
            allocation.OpenLine(line_id, invoice_id, due_on, int(line_open))
        )
        owed[invoice_id] = total - paid
        invoices[invoice_id] = [total, paid]
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
    owed_now = _owed(session, institute_id, known)
    for p, plan in zip(fresh, plans, strict=True):
        owed_now[p["student_id"]] = owed_now.get(p["student_id"], 0) - plan.applied_minor
        p["owed_after_minor"] = owed_now[p["student_id"]]
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
                    "new_status": "paid" if invoices[i][1] >= invoices[i][0] else "partially_paid",
                }
                for i in touched
            ],
        )
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
