"""The Ops desk history a person sees, and the help that says what it can do for their role."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.core.roles import Role
from app.core.tenancy import Actor
from app.opsdesk import parser as rules
from app.opsdesk.common import HISTORY_LIMIT, LABELS, OFFERED, STAFF
from app.opsdesk.models import DeskMessage


def history(session: Session, *, actor: Actor, limit: int = HISTORY_LIMIT) -> list[DeskMessage]:
    """The signed-in person's last `limit` desk messages (theirs and the desk's), oldest first."""
    actor.require(*STAFF)
    rows = session.exec(
        select(DeskMessage)
        .where(
            DeskMessage.institute_id == actor.institute_scope(),
            DeskMessage.user_id == actor.user_id,
        )
        .order_by(col(DeskMessage.id).desc())
        .limit(limit)
    ).all()
    return list(reversed(rows))


def help_text(role: Role) -> str:
    """What the desk can do for this role, with an example of each."""
    lines = [
        f"- {LABELS[intent].capitalize()}: “{example}”"
        for intent, example in rules.EXAMPLES.items()
        if Role(role) in OFFERED[intent]
    ]
    return (
        "Here is what I can do (in your own words is fine):\n"
        + "\n".join(lines)
        + "\n\nI show what I will do first and act only when you press Confirm."
    )
