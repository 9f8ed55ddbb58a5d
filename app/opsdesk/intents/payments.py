"""Record a payment: preview the student, amount and what it pays, then record it."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.core.errors import ValidationError
from app.core.money import to_minor
from app.core.tenancy import Actor
from app.fees import receipts
from app.fees import service as fees
from app.fees.receipts import METHOD_LABELS
from app.opsdesk import parser as rules
from app.opsdesk.common import AskUser, Context, Reply, money_text
from app.opsdesk.models import DeskStatus, Kind
from app.opsdesk.resolve import resolve_student


def preview(ctx: Context, args: dict[str, Any]) -> Reply:
    intent = rules.RECORD_PAYMENT
    # The payments register is the fee service's own permission (admins): checked before any
    # question is asked, so a role that may not take payments is told so at once.
    receipts.payments_of(ctx.session, actor=ctx.actor, limit=1)
    student = resolve_student(ctx, args, intent)
    args = {**args, "student_id": student.id}
    questions = {
        "amount": "how much was paid",
        "method": "how it was paid (cash, bank transfer, card, UPI, M-Pesa or other)",
        "reference": "the transaction reference (for cash, the counter slip number)",
    }
    missing = [k for k in questions if not args.get(k)]
    if missing:
        wanted = [questions[k] for k in missing]
        sentence = wanted[0] if len(wanted) == 1 else ", ".join(wanted[:-1]) + " and " + wanted[-1]
        raise AskUser(
            f"Recording a payment for {student.name} ({student.enrollment_no}): tell me "
            f"{sentence}.",
            intent,
            args,
            missing,
        )
    amount_minor = to_minor(args["amount"], ctx.currency)
    if amount_minor <= 0:
        raise ValidationError("The amount must be more than zero.")
    method, reference = args["method"], str(args["reference"]).strip()
    earlier = next(
        (
            p
            for p in receipts.payments_of(
                ctx.session, actor=ctx.actor, student_id=student.id, limit=500
            )
            if p.reference == reference
        ),
        None,
    )
    if earlier is not None and earlier.amount_minor == amount_minor:
        return Reply(
            Kind.ANSWER,
            f"This payment is already recorded: {ctx.money(earlier.amount_minor)} from "
            f"{student.name}, reference {reference}, receipt {earlier.receipt_no} "
            f"({earlier.received_on:%d %b %Y}). Nothing to do.",
            intent=intent,
        )
    balance = fees.student_balance(ctx.session, actor=ctx.actor, student_id=student.id)
    after = balance.owed_minor - amount_minor
    if after < 0 and not args.get("allow_credit"):
        # As at the counter: money beyond the balance is taken only when the person says so.
        owed = (
            f"{student.name} owes {ctx.money(balance.owed_minor)}"
            if balance.owed_minor
            else f"{student.name} owes nothing right now"
        )
        raise AskUser(
            f"{ctx.money(amount_minor)} is more than the open balance: {owed}, so "
            f"{ctx.money(-after)} would be held as advance credit. Reply “record the rest as "
            "advance credit” to take it all, or give the amount to take"
            + (f" (for example {ctx.money(balance.owed_minor)})." if balance.owed_minor else "."),
            intent,
            args,
            ["credit"],
        )
    rows = [
        {
            "Student": student.name,
            "Enrollment": student.enrollment_no,
            "Amount": ctx.money(amount_minor),
            "Method": METHOD_LABELS.get(method, method),
            "Reference": reference,
            "Owes now": ctx.money(balance.owed_minor),
            "Owes after": ctx.money(max(after, 0)),
        }
    ]
    credit = (
        f" {ctx.money(-after)} more than owed is recorded as advance credit, as you confirmed."
        if after < 0
        else ""
    )
    return Reply(
        Kind.PREVIEW,
        f"I will record a payment of **{ctx.money(amount_minor)}** from **{student.name}** "
        f"({student.enrollment_no}) by {METHOD_LABELS.get(method, method)}, reference "
        f"{reference}, and issue a receipt.{credit}",
        intent=intent,
        rows=rows,
        payload={
            "intent": intent,
            "student_id": student.id,
            "amount_minor": amount_minor,
            "method": method,
            "reference": reference,
            "allow_credit": after < 0,
        },
        status=DeskStatus.PENDING,
    )


def execute(session: Session, actor: Actor, payload: dict[str, Any]) -> Reply:
    before = {
        p.id
        for p in receipts.payments_of(
            session, actor=actor, student_id=payload["student_id"], limit=500
        )
        if p.reference == payload["reference"]
    }
    payment = fees.record_payment(
        session,
        actor=actor,
        student_id=payload["student_id"],
        amount_minor=payload["amount_minor"],
        method=payload["method"],
        reference=payload["reference"],
        allow_credit=bool(payload.get("allow_credit")),
    )
    money = money_text(session, actor, payment.amount_minor)
    if payment.id in before:
        text = (
            f"Already recorded earlier: {money}, reference {payment.reference}, receipt "
            f"{payment.receipt_no}. Nothing was recorded twice."
        )
    else:
        credit = (
            f" {money_text(session, actor, payment.credit_minor)} is kept as credit."
            if payment.credit_minor
            else ""
        )
        text = (
            f"Done: recorded {money} by {METHOD_LABELS.get(payment.method, payment.method)}, "
            f"reference {payment.reference} — receipt {payment.receipt_no}.{credit} The receipt "
            "PDF is on the Fees page."
        )
    return Reply(
        Kind.RESULT,
        text,
        intent=rules.RECORD_PAYMENT,
        payload={"payment_id": payment.id, "receipt_no": payment.receipt_no},
    )
