"""Shared Streamlit pieces: running a service call as one transaction, flashes, tables."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

import pandas as pd
import streamlit as st
from sqlalchemy.exc import OperationalError

from app.core import audit, phones, sheets
from app.core.db import session_scope
from app.core.errors import DomainError, PermissionDenied
from app.core.tenancy import Actor
from app.ui.safe import esc

T = TypeVar("T")
FLASH = "cohort_flash"


def read(actor: Actor, fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run a read-only service call in its own transaction (on SQLite it never waits for writers).

    A read that turns out to write (a signing key made on first use, say) can find SQLite's write
    lock taken after its snapshot: then the whole unit of work runs again as a writer.
    """
    try:
        with session_scope(actor, readonly=True) as session:
            return fn(session, actor=actor, **kwargs)
    except OperationalError as exc:
        if "database is locked" not in str(exc):
            raise
    with session_scope(actor) as session:
        return fn(session, actor=actor, **kwargs)


def read_recent(actor: Actor, fn: Callable[..., T], /, *, seconds: float, **kwargs: Any) -> T:
    """`read`, reused by this browser session for `seconds`: for a summary that changes slowly
    (a teacher's brief) on a page people come back to many times an hour. The same actor and
    arguments only; anything else reads afresh."""
    key = f"cohort_recent:{fn.__module__}.{fn.__qualname__}:{actor.user_id}:{sorted(kwargs.items())!r}"
    now = time.monotonic()
    kept = st.session_state.get(key)
    if kept is not None and now - kept[0] < seconds:
        return cast(T, kept[1])
    value = read(actor, fn, **kwargs)
    st.session_state[key] = (now, value)
    return value


def read_audited(actor: Actor, fn: Callable[..., T], /, **kwargs: Any) -> T:
    """A read that also writes (an audit record, e.g. a download): one transaction that takes
    SQLite's write lock up front, so it never fails on a stale read snapshot."""
    with session_scope(actor) as session:
        return fn(session, actor=actor, **kwargs)


def act(
    actor: Actor,
    fn: Callable[..., T],
    /,
    *,
    where: Any = None,
    immediate: bool = False,
    readonly: bool = False,
    **kwargs: Any,
) -> T | None:
    """Run a service call as one transaction; show a refusal with st.error and return None.

    Nothing is written when the call raises. A permission refusal is audited separately.
    `readonly=True` is for a read that can refuse its input (a date range the wrong way
    round): on SQLite it then never takes the write lock, which a long read would hold
    against every other writer.
    """
    target = where if where is not None else st
    try:
        with session_scope(actor, immediate=immediate, readonly=readonly) as session:
            return fn(session, actor=actor, **kwargs)
    except PermissionDenied as exc:
        with session_scope(actor) as session:
            audit.record(
                session,
                actor=actor,
                action="auth.permission_denied",
                detail={"operation": fn.__name__, "message": exc.message},
            )
        target.error(exc.message)
    except DomainError as exc:
        target.error(exc.message)
    return None


def flash(message: str, kind: str = "success") -> None:
    """Show a message after the next rerun, as plain text: the message usually names what a
    person typed (a student, a title), so all of it is escaped and none of it renders markup."""
    st.session_state[FLASH] = (kind, esc(message))


def show_flash() -> None:
    item = st.session_state.pop(FLASH, None)
    if item:
        kind, message = item
        getattr(st, kind)(message)


def reset_widgets(*keys: str) -> None:
    for key in keys:
        st.session_state.pop(key, None)


def table(
    rows: Iterable[dict],
    *,
    columns: dict[str, Any] | None = None,
    key: str | None = None,
    height: int | None = None,
    empty: str = "Nothing to show yet.",
) -> pd.DataFrame:
    """A read-only table of dicts, with an empty-state line (say what is missing where the
    table has no heading of its own)."""
    frame = pd.DataFrame(list(rows))
    if frame.empty:
        st.caption(empty)
        return frame
    kwargs: dict[str, Any] = {"hide_index": True, "width": "stretch", "column_config": columns}
    if height:
        kwargs["height"] = height
    if key:
        kwargs["key"] = key
    st.dataframe(frame, **kwargs)
    return frame


def table_with_csv(frame: pd.DataFrame, *, file_name: str, key: str) -> None:
    """A read-only table and its CSV download (through the safe sheet writer)."""
    st.dataframe(frame, hide_index=True, width="stretch", key=f"{key}_table")
    st.download_button(
        "Download CSV",
        sheets.frame_csv(frame),
        file_name=f"{file_name}.csv",
        mime="text/csv",
        key=f"{key}_csv",
    )


def honeypot(key: str) -> str:
    """A field people never see (a collapsed label in a one-pixel container) for a public
    form: a bot that fills every input gives itself away; the service keeps nothing then."""
    with st.container(height=1, border=False):
        return st.text_input("Website", key=key, label_visibility="collapsed", autocomplete="off")


def phone_text(user: Any, e164: str | None) -> str:
    """A stored (E.164) number as the signed-in user's institute writes it: national at home
    ("098765 43210"), international otherwise; "" for none."""
    return phones.format_phone(e164, phones.region_for(getattr(user, "institute_currency", None)))
