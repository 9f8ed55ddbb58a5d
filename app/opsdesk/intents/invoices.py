"""Generate invoices: preview who would be billed for which period, then run the invoice run."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session

from app.academics import service as academics
from app.academics.models import StudentStatus
from app.core.errors import NotFound, ValidationError
from app.core.tenancy import Actor
from app.core.text import plural
from app.fees import periods
from app.fees import service as fees
from app.opsdesk import parser as rules
from app.opsdesk.common import AskUser, Context, Reply, money_text
from app.opsdesk.models import DeskStatus, Kind
from app.opsdesk.resolve import resolve_target


def preview(ctx: Context, args: dict[str, Any]) -> Reply:
    intent = rules.GENERATE_INVOICES
    structures = fees.list_structures(ctx.session, actor=ctx.actor)
    target = resolve_target(ctx, args, intent, required=True)
    if not structures:
        raise ValidationError("There is no fee structure yet. Create one on the Fees page first.")
    said = args.get("period")
    chosen = _structures_for(structures, args, said, intent)
    period = _period_for(ctx, chosen[0], args, said, intent)
    terms = ctx.institute.term_starts
    period_label = periods.period_label(period, terms)
    structure = chosen[0]
    scope: dict[str, Any] = {"batch_id": target.batch_id, "level": target.level}
    if target.batch_id is None and target.level is None:
        scope = {
            "student_ids": [
                s.id
                for s in academics.list_students(
                    ctx.session, actor=ctx.actor, status=StudentStatus.ACTIVE.value, limit=100_000
                )
            ]
        }
    plan = fees.preview_invoice_run(
        ctx.session, actor=ctx.actor, structure_id=structure.id, period=period, **scope
    )
    if not plan.items:
        raise ValidationError(f"{structure.name} has no fee items to bill.")
    if not plan.students:
        return Reply(
            Kind.ANSWER,
            f"Nothing to do: every active student of {target.label} already has a {period_label} "
            f"invoice from {structure.name} ({plural(plan.already, 'invoice')}).",
            intent=intent,
        )
    rows = _preview_rows(ctx, target, plan)
    optional = (
        " Optional items are not included; add them on the Fees page."
        if any(
            i.optional
            for i in fees.structure_items(ctx.session, actor=ctx.actor, structure_id=structure.id)
        )
        else ""
    )
    already = (
        f" {plural(plan.already, 'student')} already "
        f"{'has one and is' if plan.already == 1 else 'have one and are'} skipped."
        if plan.already
        else ""
    )
    return Reply(
        Kind.PREVIEW,
        f"I will create **{plural(len(plan.students), 'invoice')}** from *{structure.name}* for "
        f"**{period_label}** (period {period}) for {target.label}: "
        f"{ctx.money(plan.per_student_minor)} each, total **{ctx.money(plan.total_minor)}**."
        f"{already}{optional}",
        intent=intent,
        rows=rows,
        payload={
            "intent": intent,
            "structure_id": structure.id,
            "period": period,
            "period_label": period_label,
            "student_ids": plan.students,
            "label": target.label,
        },
        status=DeskStatus.PENDING,
    )


def _structures_for(
    structures: list[Any], args: dict[str, Any], said: str | None, intent: str
) -> list[Any]:
    """The fee structures that can bill what was said (one named, per term, per month); asks
    which when more than one remains."""
    if args.get("structure_id"):
        chosen = [s for s in structures if s.id == args["structure_id"]]
        if not chosen:
            raise NotFound("That fee structure does not exist.")
    elif said and "-T" in said:
        # A term was named: only per-term structures bill terms.
        chosen = [s for s in structures if s.period_kind == "term"]
        if not chosen:
            raise AskUser(
                f"{', '.join(s.name for s in structures)} "
                f"{'is' if len(structures) == 1 else 'are'} billed per month, not per term. "
                "For which month? (for example: December)",
                intent,
                {k: v for k, v in args.items() if k not in ("period", "period_label")},
                ["period"],
            )
    elif said:
        # A month was named: monthly structures bill it; a per-term structure bills the term
        # containing it (the one billing-period rule).
        chosen = [s for s in structures if s.period_kind == "month"] or structures
    else:
        chosen = structures
    if len(chosen) > 1:
        raise AskUser(
            "Which fee structure should I bill from?",
            intent,
            args,
            ["structure"],
            options=[
                {"field": "structure_id", "id": s.id, "label": s.name, "keys": [s.name]}
                for s in chosen
            ],
            rows=[
                {"#": n, "Fee structure": s.name, "Billed per": s.period_kind}
                for n, s in enumerate(chosen, start=1)
            ],
        )
    return chosen


def _period_for(
    ctx: Context, structure: Any, args: dict[str, Any], said: str | None, intent: str
) -> str:
    """The billing period: the one containing today, the term named, or the month named."""
    terms = ctx.institute.term_starts
    if not said:
        period = fees.billing_period(structure, ctx.today, term_starts=terms)
    elif "-T" in said:
        if periods.term_by_key(said, terms) is None:
            count = len(periods.parse_term_starts(terms))
            raise AskUser(
                f"This institute has {plural(count, 'term')} a year, so there is no "
                f"{args.get('period_label') or said}. For which term? (for example: term 1)",
                intent,
                {k: v for k, v in args.items() if k not in ("period", "period_label")},
                ["period"],
            )
        period = said
    else:
        month = date.fromisoformat(f"{said}-01")
        period = fees.billing_period(structure, month, term_starts=terms)
    return period


def _preview_rows(ctx: Context, target: Any, plan: Any) -> list[dict[str, Any]]:
    """One row per invoice to create: student, enrollment, amount and discount."""
    names = {
        s.id: s
        for s in academics.list_students(
            ctx.session, actor=ctx.actor, batch_id=target.batch_id, limit=100_000
        )
    }
    rows = [
        {
            "Student": names[sid].name if sid in names else f"#{sid}",
            "Enrollment": names[sid].enrollment_no if sid in names else "",
            "Amount": ctx.money(plan.net_of(sid)),
            "Discount": ctx.money(plan.discount_of(sid)) if plan.discount_of(sid) else "",
        }
        for sid in plan.students
    ]
    return rows


def execute(session: Session, actor: Actor, payload: dict[str, Any]) -> Reply:
    plan = fees.invoice_run(
        session,
        actor=actor,
        structure_id=payload["structure_id"],
        period=payload["period"],
        student_ids=list(payload["student_ids"]),
    )
    skipped = len(payload["student_ids"]) - len(plan.students)
    note = (
        f" {plural(skipped, 'student')} had been invoiced meanwhile and "
        f"{'was' if skipped == 1 else 'were'} skipped."
        if skipped
        else ""
    )
    return Reply(
        Kind.RESULT,
        f"Done: created {plural(len(plan.students), 'invoice')} for {payload['period_label']} "
        f"({payload['label']}), total {money_text(session, actor, plan.total_minor)}.{note}",
        intent=rules.GENERATE_INVOICES,
    )
