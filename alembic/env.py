"""Alembic environment: the URL comes from the app's settings unless the caller passed one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from logging.config import fileConfig

from sqlalchemy import pool

from alembic import context
from app import models
from app.core.config import get_settings, normalize_database_url
from app.core.db import engine_for

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = models.metadata


def _url() -> str:
    return normalize_database_url(config.attributes.get("url") or get_settings().DATABASE_URL)


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=_url().startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = engine_for(_url())
    with engine.connect() as connection, _sqlite_foreign_keys_off(connection):
        _run(connection)


@contextmanager
def _sqlite_foreign_keys_off(connection) -> Iterator[None]:
    """SQLite migrates with foreign keys off, as its own recipe for rebuilding a table asks.

    A batch migration that drops a column rebuilds the table (copy, drop, rename); with foreign
    keys on, dropping a table that other rows point at fails (or, deferred, fails at commit).
    The pragma only takes effect outside a transaction, so it is set on the driver's connection
    before Alembic begins one; `_run` checks every foreign key before committing."""
    if connection.dialect.name != "sqlite":
        yield
        return
    raw = connection.connection.driver_connection
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        if connection.dialect.name == "sqlite":
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"The migration broke foreign keys: {broken[:5]}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

_ = pool  # imported for alembic's template compatibility
