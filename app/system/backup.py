"""Backups of the whole deployment: a consistent copy plus a manifest of what it holds.

SQLite: the online backup API copies every page in one step inside one read transaction, so the
copy is a consistent snapshot even while the app writes (WAL lets writers carry on); rows are
counted in the copy itself, then it is gzipped. PostgreSQL: a REPEATABLE READ transaction exports
its snapshot, `pg_dump -Fc --snapshot` dumps exactly that snapshot, and the same transaction counts
the rows, so the manifest's counts describe the dump and nothing written meanwhile.

Each backup is `cohort-<UTC stamp>.sqlite3.gz` or `.dump`, with `cohort-<stamp>.manifest.json`
beside it (dialect, migration revision, sha256, row count per table). A backup without its
manifest is unfinished and never listed. Only the deployment's super admin may take or download
one: a backup holds every institute.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app.core import audit, clock
from app.core.config import PROJECT_ROOT, get_settings
from app.core.db import get_engine
from app.core.errors import DomainError, NotFound
from app.core.roles import Role
from app.core.tenancy import Actor

MANIFEST_FORMAT = "cohort-backup/1"
MANIFEST_SUFFIX = ".manifest.json"
SQLITE_SUFFIX = ".sqlite3.gz"
PG_SUFFIX = ".dump"
_NAME = re.compile(r"^cohort-\d{8}T\d{6}Z(-\d+)?$")
_CHUNK = 1024 * 1024


class BackupError(DomainError):
    """A backup could not be taken or read; the message says what to fix."""


@dataclass(frozen=True)
class Backup:
    """One finished backup: its file, its manifest and what the manifest says."""

    path: Path
    manifest_path: Path
    manifest: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def created_at(self) -> datetime:
        return datetime.fromisoformat(self.manifest["created_at"])

    @property
    def dialect(self) -> str:
        return self.manifest["dialect"]

    @property
    def size(self) -> int:
        return int(self.manifest["bytes"])

    @property
    def total_rows(self) -> int:
        return sum(self.manifest["tables"].values())


def backup_dir(directory: str | Path | None = None) -> Path:
    """Where backups live: `directory`, else BACKUP_DIR (relative paths anchored at the project)."""
    path = Path(directory if directory is not None else get_settings().BACKUP_DIR)
    return path if path.is_absolute() else PROJECT_ROOT / path


def create_backup(
    *, engine: Engine | None = None, directory: str | Path | None = None, keep: int | None = None
) -> Backup:
    """Take a consistent backup of the database with its manifest, then keep only the newest
    `keep` (BACKUP_KEEP). For the worker, scripts and `backup_now`; no permission check here."""
    engine = engine or get_engine()
    target = backup_dir(directory)
    target.mkdir(parents=True, exist_ok=True)
    stem = _free_stem(target, clock.now())
    if engine.dialect.name == "sqlite":
        path, info = _backup_sqlite(engine, target, stem)
    elif engine.dialect.name == "postgresql":
        path, info = _backup_postgres(engine, target, stem)
    else:  # pragma: no cover - only the two supported databases
        raise BackupError(f"Backups are not supported on {engine.dialect.name}.")
    manifest = {
        "format": MANIFEST_FORMAT,
        "file": path.name,
        "created_at": clock.now().isoformat(),
        "bytes": path.stat().st_size,
        "sha256": file_sha256(path),
        **info,
    }
    manifest_path = target / f"{stem}{MANIFEST_SUFFIX}"
    partial = manifest_path.with_name(manifest_path.name + ".partial")
    partial.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    partial.replace(manifest_path)
    prune(target, keep if keep is not None else get_settings().BACKUP_KEEP)
    return Backup(path=path, manifest_path=manifest_path, manifest=manifest)


def backup_now(session: Session, *, actor: Actor, directory: str | Path | None = None) -> Backup:
    """Take a backup of the whole deployment now (super admin only); audited."""
    actor.require(Role.SUPER_ADMIN)
    backup = create_backup(engine=session.get_bind(), directory=directory)
    audit.on(
        session,
        actor,
        "system.backup",
        backup.name,
        {"bytes": backup.size, "rows": backup.total_rows, "dialect": backup.dialect},
        target_type="backup",
    )
    return backup


def list_backups(*, actor: Actor, directory: str | Path | None = None) -> list[Backup]:
    """The finished backups, newest first (super admin only)."""
    actor.require(Role.SUPER_ADMIN)
    return find_backups(directory)


def find_backups(directory: str | Path | None = None) -> list[Backup]:
    """Every finished backup in the directory (with a readable manifest), newest first."""
    target = backup_dir(directory)
    if not target.is_dir():
        return []
    found = []
    for manifest_path in target.glob(f"cohort-*{MANIFEST_SUFFIX}"):
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        path = target / str(manifest.get("file", ""))
        if manifest.get("format") == MANIFEST_FORMAT and path.is_file():
            found.append(Backup(path=path, manifest_path=manifest_path, manifest=manifest))
    return sorted(found, key=lambda b: (b.created_at, b.name), reverse=True)


def backup_for_download(
    session: Session, *, actor: Actor, name: str | None = None, directory: str | Path | None = None
) -> Backup:
    """The named (default: latest) backup for download (super admin only); the download is
    audited."""
    actor.require(Role.SUPER_ADMIN)
    backups = find_backups(directory)
    chosen = (
        backups[0]
        if backups and name is None
        else next((b for b in backups if b.name == name), None)
    )
    if chosen is None:
        raise NotFound(
            "There is no backup yet: press “Backup now”."
            if name is None
            else f"There is no backup called {name}."
        )
    audit.on(
        session,
        actor,
        "system.backup_download",
        chosen.name,
        {"bytes": chosen.size},
        target_type="backup",
    )
    return chosen


def prune(directory: Path, keep: int) -> list[str]:
    """Delete all but the newest `keep` backups (file and manifest); return the names deleted."""
    removed = []
    for old in find_backups(directory)[max(keep, 1) :]:
        old.path.unlink(missing_ok=True)
        old.manifest_path.unlink(missing_ok=True)
        removed.append(old.name)
    return removed


def file_sha256(path: Path) -> str:
    """The file's sha256, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _free_stem(directory: Path, moment: datetime) -> str:
    base = f"cohort-{moment.strftime('%Y%m%dT%H%M%SZ')}"
    stem, n = base, 1
    while list(directory.glob(f"{stem}.*")):
        n += 1
        stem = f"{base}-{n}"
    return stem


# SQLite ------------------------------------------------------------------------------------------


def sqlite_counts(connection: sqlite3.Connection) -> dict[str, int]:
    """Rows per table of a SQLite database (its own tables, not SQLite's)."""
    tables = [
        row[0]
        for row in connection.execute(
            "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' "
            "order by name"
        )
    ]
    return {t: connection.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables}


def _sqlite_revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("select version_num from alembic_version").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def _backup_sqlite(engine: Engine, target: Path, stem: str) -> tuple[Path, dict[str, Any]]:
    source_path = engine.url.database
    if not source_path or source_path == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up: use a file.")
    with tempfile.TemporaryDirectory(dir=target, prefix=".partial-") as scratch:
        copy_path = Path(scratch) / "copy.db"
        source = sqlite3.connect(source_path, timeout=30)
        copy = sqlite3.connect(copy_path)
        try:
            # One step (pages=-1): the whole copy is read inside one read transaction, i.e. one
            # consistent snapshot, while writers carry on in the WAL.
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
            counts = sqlite_counts(copy)
            revision = _sqlite_revision(copy)
        finally:
            copy.close()
            source.close()
        final = target / f"{stem}{SQLITE_SUFFIX}"
        partial = Path(scratch) / final.name
        with copy_path.open("rb") as raw, gzip.open(partial, "wb", compresslevel=6) as packed:
            shutil.copyfileobj(raw, packed, _CHUNK)
        partial.replace(final)
    return final, {
        "dialect": "sqlite",
        "alembic_revision": revision,
        "tables": counts,
        "server_version": sqlite3.sqlite_version,
    }


# PostgreSQL --------------------------------------------------------------------------------------


def pg_tool(name: str) -> str:
    """The path of a PostgreSQL client program (pg_dump, pg_restore), or a clear refusal."""
    found = shutil.which(name) or (
        f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None
    )
    if not found:
        raise BackupError(
            f"{name} is not installed: install the PostgreSQL client tools "
            "(the same major version as the server or newer)."
        )
    return found


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection URL for the command-line tools, and the environment with its password
    (kept off the command line)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def run_tool(args: list[str], env: dict[str, str], what: str) -> None:
    """Run a PostgreSQL client program; a failure raises with the tool's own last words."""
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: {' '.join(detail[-3:])[:600] or done.returncode}")


def _backup_postgres(engine: Engine, target: Path, stem: str) -> tuple[Path, dict[str, Any]]:
    pg_dump = pg_tool("pg_dump")
    final = target / f"{stem}{PG_SUFFIX}"
    partial = target / f".{stem}{PG_SUFFIX}.partial"
    dbname, env = libpq_target(engine.url.render_as_string(hide_password=False))
    # Row-level security stays on (the app's role is not exempt); the super path shows every row.
    env["PGOPTIONS"] = (env.get("PGOPTIONS", "") + " -c app.super=on").strip()
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                connection.execute(text("select set_config('app.super', 'on', true)"))
                snapshot = connection.execute(text("select pg_export_snapshot()")).scalar_one()
                tables = connection.execute(
                    text(
                        "select tablename from pg_tables where schemaname = current_schema() "
                        "order by tablename"
                    )
                ).scalars()
                counts = {
                    t: int(connection.execute(text(f'select count(*) from "{t}"')).scalar_one())
                    for t in list(tables)
                }
                revision = (
                    connection.execute(text("select version_num from alembic_version")).scalar()
                    if "alembic_version" in counts
                    else None
                )
                server = connection.execute(text("show server_version")).scalar_one()
                # The exporting transaction stays open while pg_dump reads its snapshot.
                run_tool(
                    [
                        pg_dump,
                        "--format=custom",
                        f"--snapshot={snapshot}",
                        "--enable-row-security",
                        "--no-password",
                        f"--file={partial}",
                        f"--dbname={dbname}",
                    ],
                    env,
                    "pg_dump",
                )
        partial.replace(final)
    finally:
        partial.unlink(missing_ok=True)
    return final, {
        "dialect": "postgresql",
        "alembic_revision": revision,
        "tables": counts,
        "server_version": server,
    }
