"""Engine per URL, one transaction per user action (`session_scope`), and the tenant context.

On PostgreSQL every transaction starts by setting `app.institute_id` (and `app.super` for a
super_admin or an all-institute job) with `set_config(..., true)`, so row-level security is a
second wall behind the service layer's own scoping. The settings are transaction-local, so a
pooled connection never carries one institute's context into another's request.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as SASession
from sqlmodel import Session, select

from app.core import models_base  # noqa: F401  (naming convention before any table)
from app.core.config import get_settings, normalize_database_url
from app.core.tenancy import Actor

TENANT_INFO_KEY = "cohort_tenant"
READONLY_OPTION = "cohort_readonly"
_engine_lock = threading.Lock()


@lru_cache(maxsize=16)
def engine_for(url: str) -> Engine:
    """Create (once per URL) an engine with the dialect's house settings."""
    url = normalize_database_url(url)
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine)
        return engine
    settings = get_settings()
    return create_engine(url, pool_pre_ping=True, pool_size=settings.DB_POOL_SIZE, max_overflow=10)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # pragma: no cover - driver hook
        # Let SQLAlchemy (not pysqlite) decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # pragma: no cover - driver hook
        # Every unit of work that may write takes the write lock up front (IMMEDIATE), so a second
        # writer waits for it (busy_timeout) instead of failing with "database is locked": a
        # transaction that began as a read cannot be upgraded once another writer has committed.
        # Pure reads (`readonly=True`) begin deferred and never wait for writers (WAL).
        readonly = connection.get_execution_options().get(READONLY_OPTION)
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def get_engine() -> Engine:
    """The engine for the configured DATABASE_URL."""
    with _engine_lock:
        return engine_for(get_settings().database_url)


def is_postgres(engine_or_session) -> bool:
    bind = (
        engine_or_session.get_bind()
        if isinstance(engine_or_session, SASession)
        else engine_or_session
    )
    return bind.dialect.name == "postgresql"


def set_tenant(session: SASession, *, institute_id: int | None, super_access: bool) -> None:
    """Record the tenant context for the session's transactions (and apply it now if one is open)."""
    session.info[TENANT_INFO_KEY] = (institute_id, super_access)
    if session.in_transaction():
        connection = session.connection()
        _apply_tenant(connection, institute_id, super_access)


def _apply_tenant(connection, institute_id: int | None, super_access: bool) -> None:
    if connection.dialect.name != "postgresql":
        return
    connection.execute(
        text(
            "select set_config('app.institute_id', :institute, true), "
            "set_config('app.super', :super, true)"
        ),
        {
            "institute": "" if institute_id is None else str(institute_id),
            "super": "on" if super_access else "off",
        },
    )


@event.listens_for(SASession, "after_begin")
def _tenant_after_begin(session, _transaction, connection) -> None:
    institute_id, super_access = session.info.get(TENANT_INFO_KEY, (None, False))
    _apply_tenant(connection, institute_id, super_access)


def tenant_of(
    actor: Actor | None, *, institute_id: int | None = None, system: bool = False
) -> tuple[int | None, bool]:
    if actor is not None:
        return (
            institute_id if institute_id is not None else actor.institute_id,
            actor.is_super_admin or system,
        )
    return institute_id, system


@contextmanager
def session_scope(
    actor: Actor | None = None,
    *,
    institute_id: int | None = None,
    system: bool = False,
    engine: Engine | None = None,
    immediate: bool = False,
    readonly: bool = False,
) -> Iterator[Session]:
    """One unit of work: commits when the block ends, rolls back on any error.

    `actor` sets the tenant context; `system=True` is the explicit all-institute path used by
    sign-in look-ups, the worker and scripts. On SQLite every unit of work begins IMMEDIATE
    (it holds the write lock from its first statement) unless `readonly=True`, for pure reads.
    `immediate=True` additionally opens the transaction at once rather than at the first query.
    """
    bind = engine or get_engine()
    if readonly:
        bind = bind.execution_options(**{READONLY_OPTION: True})
    session = Session(bind, expire_on_commit=False)
    inst, sup = tenant_of(actor, institute_id=institute_id, system=system)
    session.info[TENANT_INFO_KEY] = (inst, sup)
    try:
        if immediate:
            session.connection()
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def add_unless_duplicate(session: Session, row: Any) -> bool:
    """Add and flush `row` in a savepoint; False when a unique constraint refuses it (such a row
    is stored already, often by a concurrent transaction a moment ago): nothing is added and the
    caller's transaction goes on."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True


def lock_key(session: SASession, key: str) -> None:
    """Serialise transactions that work on the same key (e.g. one phone's sign-in codes).

    PostgreSQL: a transaction-scoped advisory lock. SQLite already lets one writer at a time.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("select pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


def count(session: Session, model: Any, *where: Any) -> int:
    """How many rows of `model` meet every condition in `where` (one COUNT query)."""
    return int(session.exec(select(func.count()).select_from(model).where(*where)).one())
