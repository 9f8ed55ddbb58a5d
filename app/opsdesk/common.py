"""What the Ops desk modules share: replies, labels, the context of one request, and money as the institute writes it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session

from app.core.money import format_money
from app.core.roles import Role
from app.core.tenancy import Actor
from app.identity.models import Institute
from app.opsdesk import parser as rules
from app.opsdesk.models import DeskStatus, Kind

STAFF = (Role.ADMIN, Role.TEACHER, Role.COUNSELOR)


HISTORY_LIMIT = 50


MAX_ROWS = 200  # preview rows kept with a message; the text gives the full count


MODEL_CONTEXT = 6  # earlier turns sent to the model with a new question


LABELS = {
    rules.GENERATE_INVOICES: "generate invoices",
    rules.RECORD_PAYMENT: "record payments",
    rules.NOTIFY_BALANCES: "notify guardians about fee balances",
    rules.LIST_RISK: "list students at risk",
    rules.MARK_ABSENT: "mark students absent",
    rules.STUDENT_SUMMARY: "see student summaries",
}


# Who the help text offers each request to (the services themselves decide).
OFFERED = {
    rules.GENERATE_INVOICES: {Role.ADMIN},
    rules.RECORD_PAYMENT: {Role.ADMIN},
    rules.NOTIFY_BALANCES: {Role.ADMIN, Role.COUNSELOR},
    rules.LIST_RISK: set(STAFF),
    rules.MARK_ABSENT: {Role.ADMIN, Role.TEACHER},
    rules.STUDENT_SUMMARY: set(STAFF),
}


@dataclass
class Reply:
    kind: Kind
    text: str
    intent: str | None = None
    rows: list[dict[str, Any]] | None = None
    payload: dict[str, Any] | None = None
    status: DeskStatus | None = None


class AskUser(Exception):
    """A handler needs one more detail: the question, and what it knows so far."""

    def __init__(
        self,
        question: str,
        intent: str,
        known: dict[str, Any],
        missing: list[str],
        *,
        options: list[dict[str, Any]] | None = None,
        rows: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(question)
        self.question, self.intent, self.known, self.missing = question, intent, known, missing
        self.options, self.rows = options or [], rows


@dataclass
class Context:
    session: Session
    actor: Actor
    institute: Institute
    today: date

    @property
    def currency(self) -> str:
        return self.institute.currency

    def money(self, minor: int) -> str:
        return format_money(minor, self.currency)


def money_text(session: Session, actor: Actor, minor: int) -> str:
    return format_money(minor, session.get(Institute, actor.institute_scope()).currency)
