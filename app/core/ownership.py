"""Ids a caller passes in are checked to belong to the actor's institute before they are used or
stored: a foreign key alone accepts another institute's row (on PostgreSQL, FK checks ignore
row-level security)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, TypeVar

from sqlmodel import Session, col, select

from app.core.errors import NotFound, ValidationError
from app.core.tenancy import Actor


class TenantRow(Protocol):
    institute_id: Any


T = TypeVar("T", bound=TenantRow)


def reach(actor: Actor) -> int | None:
    """Whose rows the actor may name by id: their institute's, or every institute's (None) for a
    super admin."""
    return None if actor.is_super_admin else actor.institute_scope()


def find_owned(
    session: Session, model: type[T], row_id: int | None, institute_id: int | None
) -> T | None:
    """The row `row_id` of `model` if it exists and belongs to `institute_id` (any institute for
    None, see `reach`); else None, for a caller whose answer to a stranger's id is not NotFound
    (a form field's message, an empty result). Another institute's row and an id never used
    look the same."""
    row = session.get(model, row_id) if row_id is not None else None
    if row is None or (institute_id is not None and row.institute_id != institute_id):
        return None
    return row


def owned(
    session: Session, model: type[T], row_id: int | None, institute_id: int | None, what: str
) -> T:
    """The row `row_id` of `model` if it belongs to `institute_id` (any, for None); otherwise
    "does not exist", the same answer as for an id that was never used."""
    row = find_owned(session, model, row_id, institute_id)
    if row is None:
        raise NotFound(f"That {what} does not exist.")
    return row


def all_owned(
    session: Session,
    model: Any,
    ids: Iterable[int],
    institute_id: int,
    *,
    message: str,
    field: str,
    **match: Any,
) -> list[int]:
    """Every id of `ids` checked, in one query, to be a row of `model` in `institute_id` (and to
    have the column values of `match`); otherwise a ValidationError with `message` on `field`."""
    wanted = list(dict.fromkeys(int(i) for i in ids))
    if not wanted:
        return []
    query = select(model.id).where(model.institute_id == institute_id, col(model.id).in_(wanted))
    for name, value in match.items():
        query = query.where(getattr(model, name) == value)
    found = set(session.exec(query))
    if len(found) != len(wanted):
        raise ValidationError(message, field=field)
    return wanted


def get_owned(session: Session, model: type[T], actor: Actor, row_id: int | None, what: str) -> T:
    """The row if it exists in the actor's institute, else NotFound("That <what> does not
    exist.") — the one "exists and belongs to this institute" check for ids a person passes."""
    return owned(session, model, row_id, actor.institute_scope(), what)
