"""In-process domain events: a lower domain announces what happened, higher domains react.

Data flows downhill (ARCHITECTURE rule 11): attendance, coursework, academics and identity never
import the domains built on them. When their work must trigger work up there (badges after a
class or marks, homework for a student who joins a batch, a guardian's chat for a student's
sign-in code), they `publish` an event; the domain above subscribes in its own
`subscribers.py`. Handlers run at once, in the publisher's session and transaction, so what was
atomic stays atomic: a handler that raises rolls the whole unit of work back.

`publish` returns each handler's answer by the handler's name (`"badges"`, ...), for the few
publishers that report what their subscribers did (the post-class summary counts badges).

The subscriber modules are listed here by name and imported on the first publish, the way the
worker's registry finds the domains' jobs, so no code path can publish before the subscribers
are in place, and app/core imports no domain.
"""

from __future__ import annotations

import importlib
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session

# Domains that react to events: each module calls `subscribe` when imported.
SUBSCRIBER_MODULES = [
    "app.academics.subscribers",
    "app.coursework.subscribers",
    "app.badges.subscribers",
]

Handler = Callable[[Session, Any], Any]
_handlers: dict[type, list[tuple[str, Handler]]] = defaultdict(list)
_loaded = False
_lock = threading.Lock()


@dataclass(frozen=True)
class StudentsJoinedBatch:
    """Students became members of a batch (one join, or a whole import) on a day."""

    institute_id: int
    batch_id: int
    student_ids: tuple[int, ...]
    on: date


@dataclass(frozen=True)
class AttendanceSubmitted:
    """A class's attendance was saved: every student marked (present, late, absent, excused)."""

    institute_id: int
    session_id: int
    batch_id: int
    student_ids: frozenset[int]


@dataclass(frozen=True)
class MarksEntered:
    """Marks of an assessment changed for these students."""

    institute_id: int
    assessment_id: int
    student_ids: frozenset[int]


@dataclass(frozen=True)
class StorageKeysInUse:
    """A question, not a fact: which of these objects of the materials storage does a domain
    above still keep (homework hand-ins)? Handlers answer the keys they use; the storage
    cleanup deletes none of them."""

    keys: tuple[str, ...]


@dataclass(frozen=True)
class StudentChatWanted:
    """A question, not a fact: which Telegram chat reaches this student user's family (for
    their sign-in code when they linked no chat of their own)? Handlers answer a chat id or
    None."""

    institute_id: int
    user_id: int


def subscribe(event_type: type, name: str, handler: Handler) -> None:
    """Call `handler(session, event)` for every `event_type` published; `name` labels its
    answer in what `publish` returns. Subscribing the same name twice replaces the handler."""
    handlers = _handlers[event_type]
    handlers[:] = [(n, h) for n, h in handlers if n != name] + [(name, handler)]


def _load() -> None:
    global _loaded
    if _loaded:
        return
    with _lock:
        if not _loaded:
            for module in SUBSCRIBER_MODULES:
                importlib.import_module(module)
            _loaded = True


def publish(session: Session, event: Any) -> dict[str, Any]:
    """Run every handler of `event`'s type now, inside `session`'s transaction; their answers
    by handler name."""
    _load()
    return {name: handler(session, event) for name, handler in _handlers[type(event)]}


def handlers_of(event_type: type) -> list[str]:
    """The names of the handlers an event type has (for tests and the System page)."""
    _load()
    return [name for name, _ in _handlers[event_type]]
