"""Restore drill: restore a backup into a scratch database and prove it is whole.

Checks, each reported on its own: the file matches its manifest (size, sha256); the restore
succeeds; migrations are at the code's head; every table holds exactly the rows the manifest
counted at backup time; the ledger balances per institute (and per journal entry); on SQLite the
file passes `integrity_check` and `foreign_key_check`; on PostgreSQL row-level security is on,
forced and has its policy on every tenant table. The scratch database (a temporary SQLite file,
or a `cohort_drill_<pid>` PostgreSQL database made with an admin URL) is always removed.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from app.core.config import get_settings, normalize_database_url
from app.core.errors import DomainError
from app.core.migrate import head_revision
from app.models import TENANT_TABLES
from app.system import backup as backups
from app.system.backup import Backup, BackupError
from app.system.health import Check


class DrillFailed(DomainError):
    """The restored backup differs from what was backed up; the message lists every problem."""


# A drill's check reads as a health check does: a name, pass or fail, and what was seen.
DrillCheck = Check


def _verdict(name: str, problems: list[str], fine: str) -> DrillCheck:
    """A failed check listing `problems`, or a passed one saying `fine` when there are none."""
    if problems:
        return DrillCheck(name, False, "; ".join(problems))
    return DrillCheck(name, True, fine)


@dataclass
class DrillReport:
    """What the drill found for one backup."""

    backup: str
    dialect: str
    checks: list[DrillCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def problems(self) -> list[DrillCheck]:
        return [c for c in self.checks if not c.ok]

    def text(self) -> str:
        head = (
            f"Restore drill of {self.backup} ({self.dialect}): {'PASSED' if self.ok else 'FAILED'}"
        )
        return "\n".join([head, *(c.line() for c in self.checks)])

    def raise_for_problems(self) -> None:
        """Raise DrillFailed naming every failed check (nothing when all passed)."""
        if not self.ok:
            raise DrillFailed(
                f"Restore drill of {self.backup} failed: "
                + "; ".join(f"{c.name}: {c.detail}" for c in self.problems)
            )


def pick_backup(path: str | Path | None = None, *, directory: str | Path | None = None) -> Backup:
    """The backup to drill: a given file (or its manifest), else the newest in the directory."""
    if path is None:
        found = backups.find_backups(directory)
        if not found:
            raise BackupError(
                f"There is no finished backup in {backups.backup_dir(directory)}: take one first."
            )
        return found[0]
    given = Path(path)
    for candidate in backups.find_backups(given.parent):
        if given.name in (candidate.name, candidate.manifest_path.name):
            return candidate
    raise BackupError(f"{given} is not a finished backup (its manifest is missing or unreadable).")


def run_drill(
    path: str | Path | None = None,
    *,
    directory: str | Path | None = None,
    admin_url: str | None = None,
) -> DrillReport:
    """Restore the given (default: latest) backup into a scratch database and check it."""
    chosen = pick_backup(path, directory=directory)
    report = DrillReport(backup=chosen.name, dialect=chosen.dialect)
    report.checks.append(check_file(chosen))
    try:
        with restored(chosen, admin_url=admin_url) as connection:
            report.checks.append(DrillCheck("restore", True, "restored into a scratch database"))
            report.checks.extend(verify(connection, chosen.manifest))
    except BackupError as exc:
        report.checks.append(DrillCheck("restore", False, exc.message))
    return report


def check_file(chosen: Backup) -> DrillCheck:
    """The file is the one the manifest describes (size and sha256)."""
    size = chosen.path.stat().st_size
    if size != chosen.manifest["bytes"]:
        return DrillCheck(
            "file",
            False,
            f"the file was altered or cut short: {size} bytes, "
            f"the manifest recorded {chosen.manifest['bytes']}",
        )
    digest = backups.file_sha256(chosen.path)
    if digest != chosen.manifest["sha256"]:
        return DrillCheck("file", False, "sha256 differs from the manifest: the file was altered")
    return DrillCheck("file", True, f"{size} bytes, sha256 matches the manifest")


@contextmanager
def restored(chosen: Backup, *, admin_url: str | None = None) -> Iterator[Connection]:
    """A connection to a scratch copy restored from `chosen`; the scratch is dropped afterwards."""
    if chosen.dialect == "sqlite":
        with _sqlite_scratch(chosen) as connection:
            yield connection
    else:
        with _postgres_scratch(chosen, admin_url) as connection:
            yield connection


@contextmanager
def _sqlite_scratch(chosen: Backup) -> Iterator[Connection]:
    with tempfile.TemporaryDirectory(prefix="cohort-drill-") as scratch:
        target = Path(scratch) / "restored.db"
        try:
            with gzip.open(chosen.path, "rb") as packed, target.open("wb") as raw:
                shutil.copyfileobj(packed, raw, 1024 * 1024)
        except (OSError, EOFError) as exc:
            raise BackupError(f"the backup does not decompress: {exc}") from exc
        engine = create_engine(f"sqlite:///{target}")
        try:
            with engine.connect() as connection:
                yield connection
        finally:
            engine.dispose()


def admin_url_for_drill(admin_url: str | None) -> str:
    """The PostgreSQL URL that may create the scratch database, or a refusal saying how to give it."""
    url = admin_url or get_settings().RESTORE_DRILL_ADMIN_URL
    if not url:
        raise BackupError(
            "The PostgreSQL restore drill needs a URL allowed to create databases: pass "
            "--admin-url or set RESTORE_DRILL_ADMIN_URL "
            "(e.g. postgresql://postgres@127.0.0.1:5432/postgres)."
        )
    return normalize_database_url(url)


@contextmanager
def _postgres_scratch(chosen: Backup, admin_url: str | None) -> Iterator[Connection]:
    admin = admin_url_for_drill(admin_url)
    pg_restore = backups.pg_tool("pg_restore")
    scratch = f"cohort_drill_{os.getpid()}"
    admin_engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    scratch_url = make_url(admin).set(database=scratch).render_as_string(hide_password=False)
    try:
        with admin_engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{scratch}"'))
    except Exception as exc:  # noqa: BLE001 - any refusal means the admin URL cannot do this
        admin_engine.dispose()
        raise BackupError(f"could not create the scratch database {scratch}: {exc}") from exc
    engine = None
    try:
        target, env = backups.libpq_target(scratch_url)
        backups.run_tool(
            [
                pg_restore,
                "--no-owner",
                "--no-acl",
                "--exit-on-error",
                "--single-transaction",
                "--no-password",
                f"--dbname={target}",
                str(chosen.path),
            ],
            env,
            "pg_restore",
        )
        engine = create_engine(scratch_url)
        with engine.connect() as connection:
            # The drill reads every institute; if the admin role is not exempt from RLS, take the
            # super path for this session.
            connection.execute(text("select set_config('app.super', 'on', false)"))
            connection.commit()
            yield connection
    finally:
        if engine is not None:
            engine.dispose()
        with admin_engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        admin_engine.dispose()


def verify(connection: Connection, manifest: dict) -> list[DrillCheck]:
    """Every check of a restored database against its manifest."""
    checks: list[Callable[[Connection, dict], DrillCheck]] = [
        check_migrations,
        check_counts,
        check_ledger,
    ]
    checks.append(check_rls if connection.dialect.name == "postgresql" else check_sqlite_integrity)
    results = []
    for check in checks:
        try:
            results.append(check(connection, manifest))
        except Exception as exc:  # noqa: BLE001 - a check that crashes has failed, with its reason
            connection.rollback()
            name = check.__name__.removeprefix("check_")
            results.append(DrillCheck(name, False, f"{type(exc).__name__}: {exc}"[:400]))
    return results


def table_names(connection: Connection) -> list[str]:
    """The application's tables in the restored database."""
    if connection.dialect.name == "sqlite":
        query = (
            "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' "
            "order by name"
        )
    else:
        query = (
            "select tablename from pg_tables where schemaname = current_schema() order by tablename"
        )
    return list(connection.execute(text(query)).scalars())


def check_migrations(connection: Connection, manifest: dict) -> DrillCheck:
    """The restored schema is at the code's newest migration."""
    tables = table_names(connection)
    current = (
        connection.execute(text("select version_num from alembic_version")).scalar()
        if "alembic_version" in tables
        else None
    )
    head = head_revision()
    if current != head:
        return DrillCheck(
            "migrations",
            False,
            f"restored database at {current or 'nothing'}, the code expects {head}: "
            "run `alembic upgrade head` after restoring",
        )
    return DrillCheck("migrations", True, f"at head ({head})")


def check_counts(connection: Connection, manifest: dict) -> DrillCheck:
    """Each table holds exactly the rows counted when the backup was taken."""
    expected: dict[str, int] = manifest["tables"]
    actual = {
        t: int(connection.execute(text(f'select count(*) from "{t}"')).scalar_one())
        for t in table_names(connection)
    }
    differences = [
        f"{t}: backup recorded {expected.get(t, 'no table')}, restored {actual.get(t, 'no table')}"
        for t in sorted(set(expected) | set(actual))
        if expected.get(t) != actual.get(t)
    ]
    if differences:
        return DrillCheck("row counts", False, "; ".join(differences))
    return DrillCheck(
        "row counts", True, f"{len(actual)} tables, {sum(actual.values())} rows as recorded"
    )


def check_ledger(connection: Connection, manifest: dict) -> DrillCheck:
    """Debits equal credits in every institute, and in every journal entry."""
    if "journal_lines" not in table_names(connection):
        return DrillCheck("ledger", False, "the journal_lines table is missing")
    per_institute = connection.execute(
        text(
            "select institute_id, coalesce(sum(debit_minor), 0), coalesce(sum(credit_minor), 0) "
            "from journal_lines group by institute_id order by institute_id"
        )
    ).all()
    entries = connection.execute(
        text(
            "select institute_id, entry_id from journal_lines group by institute_id, entry_id "
            "having sum(debit_minor) <> sum(credit_minor) order by institute_id, entry_id"
        )
    ).all()
    problems = [f"institute {i}: debits {d} ≠ credits {c}" for i, d, c in per_institute if d != c]
    if entries:
        shown = ", ".join(f"#{e}" for _i, e in entries[:10])
        more = f" and {len(entries) - 10} more" if len(entries) > 10 else ""
        problems.append(f"journal entries that do not balance: {shown}{more}")
    return _verdict(
        "ledger", problems, f"balanced in {len(per_institute)} institute(s), every entry balanced"
    )


def check_rls(connection: Connection, manifest: dict) -> DrillCheck:
    """Row-level security is enabled, forced and has its policy on every tenant table."""
    rows = connection.execute(
        text(
            "select c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "exists (select 1 from pg_policies p where p.schemaname = n.nspname "
            "        and p.tablename = c.relname and p.policyname = 'tenant_isolation') "
            "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = current_schema() and c.relkind = 'r'"
        )
    ).all()
    state = {name: (enabled, forced, policy) for name, enabled, forced, policy in rows}
    problems = []
    for table in sorted(TENANT_TABLES):
        enabled, forced, policy = state.get(table, (None, None, None))
        if enabled is None:
            problems.append(f"{table}: table missing")
        elif not (enabled and forced and policy):
            missing = [
                label
                for label, flag in (("enabled", enabled), ("forced", forced), ("policy", policy))
                if not flag
            ]
            problems.append(f"{table}: row-level security not {'/'.join(missing)}")
    return _verdict(
        "row-level security",
        problems,
        f"on, forced, with its policy on {len(TENANT_TABLES)} tables",
    )


def check_sqlite_integrity(connection: Connection, manifest: dict) -> DrillCheck:
    """SQLite's own structure check and foreign keys."""
    integrity = connection.exec_driver_sql("PRAGMA integrity_check").scalars().all()
    broken_keys = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    problems = [] if integrity == ["ok"] else [f"integrity_check: {'; '.join(integrity[:5])}"]
    if broken_keys:
        tables = sorted({row[0] for row in broken_keys})
        problems.append(f"{len(broken_keys)} rows point at missing rows in {', '.join(tables)}")
    return _verdict("integrity", problems, "integrity_check ok, no broken foreign keys")
