"""Loading demo rows fast: COPY on PostgreSQL, executemany on SQLite, with foreign-key and
check constraints deferred while a seed writes, then sequences and planner statistics fixed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time

from sqlalchemy import text
from sqlmodel import Session


def bulk_load(session: Session, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    """Insert many rows fast in the session's transaction; returns how many."""
    connection = session.connection()
    raw = connection.connection.dbapi_connection
    count = 0
    if connection.dialect.name == "postgresql":
        cols = ", ".join(columns)
        with raw.cursor() as cursor:
            cursor.execute("select row_security_active(%s::regclass)", (table,))
            if not cursor.fetchone()[0]:
                # Nothing to check (a superuser or BYPASSRLS role): straight in.
                with cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                        count += 1
                return count
            # COPY cannot write through row-level security: stage in a temporary table, then one
            # INSERT … SELECT (which the policies check).
            cursor.execute(
                f"CREATE TEMP TABLE staging_{table} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP"
            )
            with cursor.copy(f"COPY staging_{table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            cursor.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM staging_{table}")
            cursor.execute(f"DROP TABLE staging_{table}")
        return count
    cursor = raw.cursor()
    placeholders = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
    batch: list[tuple] = []
    for row in rows:
        batch.append(tuple(_sqlite_value(v) for v in row))
        if len(batch) >= 20_000:
            cursor.executemany(sql, batch)
            count += len(batch)
            batch = []
    if batch:
        cursor.executemany(sql, batch)
        count += len(batch)
    cursor.close()
    return count


@contextmanager
def checks_deferred(
    session: Session, tables: Sequence[str], *, foreign_keys_only: bool = False
) -> Iterator[None]:
    """Load `tables` without per-row foreign-key checks and index upkeep (PostgreSQL), then put
    every dropped index and constraint back, under its own name and definition, in the same
    transaction: each is then checked or built once over the whole set, which is many times
    faster than row by row. Primary keys stay. Needs to own the tables (the migrations' role or a
    superuser); otherwise, and on SQLite, the block runs with everything in place."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        yield
        return
    raw = connection.connection.dbapi_connection
    with raw.cursor() as cursor:
        cursor.execute(
            "select bool_and(pg_has_role(relowner, 'USAGE')) from pg_class "
            "where oid = any(%s::regclass[])",
            (list(tables),),
        )
        if not cursor.fetchone()[0]:
            yield
            return
        # Foreign keys, then unique constraints no foreign key leans on, then plain indexes.
        cursor.execute(
            """
            select c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype
            from pg_constraint c
            where c.conrelid = any(%s::regclass[]) and (
                c.contype = 'f'
                or (c.contype = 'u' and not %s and not exists (
                    select 1 from pg_constraint f where f.contype = 'f' and f.conindid = c.conindid
                ))
            )
            order by c.contype, c.conrelid, c.conname
            """,
            (list(tables), foreign_keys_only),
        )
        constraints = cursor.fetchall()
        cursor.execute(
            """
            select i.relname, pg_get_indexdef(i.oid)
            from pg_index x join pg_class i on i.oid = x.indexrelid
            where x.indrelid = any(%s::regclass[]) and not %s
              and not exists (select 1 from pg_constraint c where c.conindid = x.indexrelid
                              and c.conrelid = x.indrelid)
            order by i.relname
            """,
            (list(tables), foreign_keys_only),
        )
        indexes = cursor.fetchall()
        for table, name, _definition, _kind in constraints:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    yield
    with raw.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _name, definition in indexes:
            cursor.execute(definition)
        # Unique constraints ('u') before foreign keys ('f'), which may need their indexes.
        for table, name, definition, _kind in sorted(constraints, key=lambda c: c[3] != "u"):
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def _sqlite_value(value):
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, time):
        return value.strftime("%H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def next_id(session: Session, table: str) -> int:
    return int(session.execute(text(f"select coalesce(max(id), 0) + 1 from {table}")).scalar())


def analyze(session: Session, tables: Sequence[str]) -> None:
    """Refresh the planner's statistics after a bulk load (PostgreSQL), so queries use indexes."""
    if session.get_bind().dialect.name == "postgresql":
        for table in tables:
            session.execute(text(f"ANALYZE {table}"))


def fix_sequences(session: Session, tables: Sequence[str]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        for table in tables:
            session.execute(
                text(
                    f"select setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"coalesce((select max(id) from {table}), 1))"
                )
            )
