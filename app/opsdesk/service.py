"""The Ops desk: staff type plain requests; the desk shows exactly what it will do and does it
only after Confirm, through the same services (and so the same permissions) as the pages.

`ask` reads a request with the rules in `parser`, resolves students, batches and fee structures
in the actor's institute, and replies with a preview to confirm, a clarifying question, an
answer (reads need no confirmation), or a refusal. Requests the rules do not understand go to
the local model when one is configured (`app.integrations.ollama`); its text is shown as it is
and never acts. `confirm` carries out a preview once, however often it is clicked. Everything
either says is kept per institute and user (`DeskMessage`).

This module gathers the subdomain modules' names (`app.opsdesk.assistant`, `app.opsdesk.common`,
`app.opsdesk.conversation`, `app.opsdesk.history`, `app.opsdesk.intents.absences`,
`app.opsdesk.intents.balances`, `app.opsdesk.intents.invoices`, `app.opsdesk.intents.payments`,
`app.opsdesk.intents.risk`, `app.opsdesk.intents.summary`, `app.opsdesk.resolve`) so callers
keep one import."""

from __future__ import annotations

from app.opsdesk.assistant import (
    MODEL_NOTE,
    SYSTEM_PROMPT,
)
from app.opsdesk.common import (
    HISTORY_LIMIT,
    LABELS,
    MAX_ROWS,
    MODEL_CONTEXT,
    OFFERED,
    STAFF,
    Reply,
)
from app.opsdesk.conversation import (
    ACTIONS,
    HANDLERS,
    ask,
    cancel,
    confirm,
)
from app.opsdesk.history import (
    help_text,
    history,
)

__all__ = [
    "ACTIONS",
    "HANDLERS",
    "HISTORY_LIMIT",
    "LABELS",
    "MAX_ROWS",
    "MODEL_CONTEXT",
    "MODEL_NOTE",
    "OFFERED",
    "Reply",
    "STAFF",
    "SYSTEM_PROMPT",
    "ask",
    "cancel",
    "confirm",
    "help_text",
    "history",
]
