"""Notify balances: preview whose guardians would be told, then queue the messages."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.core.tenancy import Actor
from app.core.text import plural
from app.fees import alerts as fee_alerts
from app.opsdesk import parser as rules
from app.opsdesk.common import Context, Reply
from app.opsdesk.models import DeskStatus, Kind
from app.opsdesk.resolve import resolve_target


def preview(ctx: Context, args: dict[str, Any]) -> Reply:
    intent = rules.NOTIFY_BALANCES
    target = resolve_target(ctx, args, intent, required=False)
    scope = {"batch_id": target.batch_id, "level": target.level} if target else {}
    notices = fee_alerts.balance_notices(ctx.session, actor=ctx.actor, **scope)
    where = f" in {target.label}" if target else ""
    if not notices:
        return Reply(Kind.ANSWER, f"No student{where} owes anything right now.", intent=intent)
    guardians = sum(n.guardians for n in notices)
    reachable = sum(n.reachable for n in notices)
    no_guardian = sum(1 for n in notices if n.guardians == 0)
    notes = []
    if guardians > reachable:
        notes.append(
            f"{plural(guardians - reachable, 'guardian')} "
            f"{'has' if guardians - reachable == 1 else 'have'} no Telegram chat linked; their "
            "messages are kept in the outbox but cannot be delivered."
        )
    if no_guardian:
        notes.append(
            f"{no_guardian} of these students {'has' if no_guardian == 1 else 'have'} no "
            "guardian on record."
        )
    return Reply(
        Kind.PREVIEW,
        f"I will message the guardians of **{plural(len(notices), 'student')}**{where} who "
        f"{'owes' if len(notices) == 1 else 'owe'} fees, "
        f"{ctx.money(sum(n.owed_minor for n in notices))} in all "
        f"({plural(guardians, 'guardian')}). "
        " ".join(["Anyone already told today is skipped.", *notes]),
        intent=intent,
        rows=[
            {
                "Student": n.name,
                "Enrollment": n.enrollment_no,
                "Owes": ctx.money(n.owed_minor),
                "Guardians": n.guardians,
                "On Telegram": n.reachable,
            }
            for n in notices
        ],
        payload={
            "intent": intent,
            "batch_id": target.batch_id if target else None,
            "level": target.level if target else None,
            "label": target.label if target else "all students",
        },
        status=DeskStatus.PENDING,
    )


def execute(session: Session, actor: Actor, payload: dict[str, Any]) -> Reply:
    queued = fee_alerts.notify_balances(
        session, actor=actor, batch_id=payload.get("batch_id"), level=payload.get("level")
    )
    text = (
        f"Done: queued {plural(queued, 'message')} to guardians ({payload['label']})."
        if queued
        else "Nothing new to send: those guardians were already told today."
    )
    return Reply(Kind.RESULT, text, intent=rules.NOTIFY_BALANCES)
