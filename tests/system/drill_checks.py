"""Backups of the seeded `medium` demo restore whole on SQLite and PostgreSQL, and the restore
drill fails loudly, naming the problem, when the backup or the restored copy was tampered with.

Seeding is the slow part, so tests/test_medium_demo.py seeds each database once and runs these
checks on it too.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from app.system import backup, drill
from tests.conftest import ADMIN_URL

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


def _check(checks, name):
    return next(c for c in checks if c.name == name)


def _tamper_journal_line(connection) -> tuple[int, int]:
    """Make one journal line one unit bigger (same row count), past the append-only trigger."""
    if connection.dialect.name == "sqlite":
        connection.execute(text("drop trigger journal_lines_no_update"))
    else:
        connection.execute(text("alter table journal_lines disable trigger user"))
    line = connection.execute(
        text(
            "select id, institute_id, entry_id from journal_lines where debit_minor > 0 "
            "order by id limit 1"
        )
    ).one()
    connection.execute(
        text("update journal_lines set debit_minor = debit_minor + 1 where id = :i"), {"i": line[0]}
    )
    return line[1], line[2]


def check_backup_and_drill(kind: str, db_engine, tmp_path) -> None:
    """Back up a seeded database, drill it, then tamper and watch the drill fail (called by
    tests/test_medium_demo.py on each database right after seeding the medium demo)."""
    folder = tmp_path / kind
    taken = backup.create_backup(engine=db_engine, directory=folder, keep=3)
    manifest = json.loads(taken.manifest_path.read_text())
    assert manifest["dialect"] == ("sqlite" if kind == "sqlite" else "postgresql")
    assert manifest["tables"]["attendance_records"] > 10_000, kind
    assert manifest["alembic_revision"]

    # The drill of the untouched backup passes every check.
    report = drill.run_drill(directory=folder, admin_url=ADMIN_URL)
    assert report.ok, report.text()
    names = {c.name for c in report.checks}
    assert {"file", "restore", "migrations", "row counts", "ledger"} <= names, kind
    assert ("row-level security" if kind == "postgres" else "integrity") in names
    report.raise_for_problems()  # nothing to raise

    # One scratch restore, tampered with step by step (a restore is the slow part).
    with drill.restored(taken, admin_url=ADMIN_URL) as connection:
        # A row deleted from the restored copy: the row counts name the table and both counts.
        connection.execute(
            text(
                "delete from attendance_records where id = (select min(id) from attendance_records)"
            )
        )
        checks = drill.verify(connection, taken.manifest)
        counts = _check(checks, "row counts")
        expected = manifest["tables"]["attendance_records"]
        assert not counts.ok, kind
        assert counts.detail == (
            f"attendance_records: backup recorded {expected}, restored {expected - 1}"
        )
        assert _check(checks, "ledger").ok

        # An unbalanced journal entry: the ledger check names the institute and the entry.
        institute_id, entry_id = _tamper_journal_line(connection)
        checks = drill.verify(connection, taken.manifest)
        ledger = _check(checks, "ledger")
        assert not ledger.ok, kind
        assert f"institute {institute_id}: debits" in ledger.detail
        assert f"#{entry_id}" in ledger.detail
        assert "journal_lines" not in _check(checks, "row counts").detail  # same rows
        failed = drill.DrillReport(backup=taken.name, dialect=kind, checks=checks)
        with pytest.raises(drill.DrillFailed, match="ledger: institute"):
            failed.raise_for_problems()

        if kind == "postgres":
            # A tenant table that lost its policy is named.
            connection.execute(text("drop policy tenant_isolation on payments"))
            rls = _check(drill.verify(connection, taken.manifest), "row-level security")
            assert not rls.ok and rls.detail == "payments: row-level security not policy"

    if kind == "sqlite":
        # A row deleted from the backup file itself: its checksum and counts both disagree.
        raw = tmp_path / "edited.db"
        with gzip.open(taken.path) as packed:
            raw.write_bytes(packed.read())
        with sqlite3.connect(raw) as edit:
            edit.execute("delete from payments where id = (select max(id) from payments)")
        edit.close()
        with gzip.open(taken.path, "wb") as packed:
            packed.write(raw.read_bytes())
        report = drill.run_drill(taken.path, admin_url=ADMIN_URL)
        assert not report.ok
        assert "the file was altered" in _check(report.checks, "file").detail
        assert "payments: backup recorded" in _check(report.checks, "row counts").detail
        assert "FAILED" in report.text().splitlines()[0]
