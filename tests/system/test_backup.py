"""Backups: consistent while the app writes, kept N deep, taken by the daily job, and only ever
taken, listed or downloaded by the deployment's super admin."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from sqlmodel import select

from app.core import audit
from app.core.errors import NotFound, PermissionDenied
from app.core.roles import Role
from app.fees import ledger
from app.system import backup, drill
from app.worker import runner
from app.worker.registry import all_jobs
from tests import factories as f
from tests.conftest import ADMIN_URL


def _post_entries(db, institute_id: int, accounts: tuple[int, int], stop: threading.Event, made):
    """A writer: balanced two-line journal entries, one transaction each, until told to stop."""
    debit, credit = accounts
    while not stop.is_set():
        with db.scope(institute_id=institute_id) as s:
            ledger.post_internal(
                s,
                institute_id=institute_id,
                entry_date=date(2026, 11, 20),
                memo="concurrent write",
                source_type="manual",
                source_id=None,
                postings=[
                    ledger.Posting(account_id=debit, debit=250),
                    ledger.Posting(account_id=credit, credit=250),
                ],
            )
        made.append(1)


CLASS_SIZE = 8


def _submit_attendance(
    db, teacher, batch_id: int, timezone: str, stop: threading.Event, taken: list
):
    """A writer: a teacher takes attendance for class after class (the sheet of the whole batch
    in one transaction, pipeline included), until told to stop."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from app.attendance import service as attendance
    from app.attendance.models import ClassSession

    n = 0
    while not stop.is_set():
        n += 1
        start = datetime.now(UTC) - timedelta(minutes=5) + timedelta(microseconds=n)
        with db.scope(institute_id=teacher.institute_id) as s:
            row = ClassSession(
                institute_id=teacher.institute_id,
                batch_id=batch_id,
                date=start.astimezone(ZoneInfo(timezone)).date(),  # the institute's day
                starts_at=start,
                ends_at=start + timedelta(hours=1),
            )
            s.add(row)
            s.flush()
            session_id = row.id
        with db.scope(teacher, immediate=True) as s:
            attendance.submit_attendance(
                s, actor=teacher, session_id=session_id, marks={}, expected_version=0
            )
        taken.append(session_id)


@pytest.mark.heavy
def test_backup_while_the_app_writes_restores_consistently(db, tmp_path):
    from sqlalchemy import text

    from app.academics import service as academics

    insts = [f.institute(db), f.institute(db)]
    admin = f.actor_for(f.user(db, insts[0], Role.ADMIN))
    teacher_user = f.user(db, insts[0], Role.TEACHER)
    with db.scope(admin) as s:
        subject = academics.create_subject(s, actor=admin, name="Mathematics")
        batch = academics.create_batch(
            s, actor=admin, name="Math X", subject_id=subject.id, teacher_user_id=teacher_user.id
        )
        for n in range(CLASS_SIZE):
            st = academics.create_student(s, actor=admin, enrollment_no=f"B-{n}", name=f"S{n}")
            academics.join_batch(s, actor=admin, batch_id=batch.id, student_id=st.id)
    accounts = {}
    for inst in insts:
        with db.scope(institute_id=inst.id) as s:
            chart = ledger.ensure_chart_internal(s, institute_id=inst.id)
            first, second = sorted(a.id for a in chart.values())[:2]
            accounts[inst.id] = (first, second)
    stop, made, sheets = threading.Event(), [], []
    writers = [
        threading.Thread(target=_post_entries, args=(db, inst.id, accounts[inst.id], stop, made))
        for inst in insts
        for _ in range(2)
    ] + [
        threading.Thread(
            target=_submit_attendance,
            args=(db, f.actor_for(teacher_user), batch.id, insts[0].timezone, stop, sheets),
        )
    ]
    for w in writers:
        w.start()
    taken = []
    try:
        while len(made) < 20 or len(sheets) < 3:
            time.sleep(0.01)
        for _ in range(2):
            before, before_sheets = len(made), len(sheets)
            taken.append(backup.create_backup(engine=db.engine, directory=tmp_path, keep=5))
            # the app kept writing (journal entries and attendance sheets) through the backup
            while len(made) < before + 10 or len(sheets) < before_sheets + 2:
                time.sleep(0.01)
    finally:
        stop.set()
        for w in writers:
            w.join(timeout=30)
    assert not any(w.is_alive() for w in writers)

    with db.scope(system=True) as s:
        final = len(s.exec(select(ledger.JournalLine.id)).all())
    for one in taken:
        counts = one.manifest["tables"]
        # No torn transaction: every entry came with both of its lines.
        assert counts["journal_lines"] == 2 * counts["journal_entries"] > 0
        assert counts["journal_lines"] < final
        report = drill.run_drill(one.path, admin_url=ADMIN_URL)
        assert report.ok, report.text()
        # Every attendance sheet in the copy is whole: a submitted class has all its marks.
        with drill.restored(one, admin_url=ADMIN_URL) as connection:
            submitted = connection.execute(
                text("select count(*) from class_sessions where status = 'submitted'")
            ).scalar_one()
            marks = connection.execute(text("select count(*) from attendance_records")).scalar_one()
        assert submitted >= 3 and marks == CLASS_SIZE * submitted
    first, second = (t.manifest["tables"]["journal_entries"] for t in taken)
    assert first < second


def test_keeps_the_newest_copies_and_the_daily_job_backs_up(db, tmp_path, monkeypatch):
    from app.core.config import reset_settings_cache

    monkeypatch.setenv("BACKUP_DIR", str(tmp_path))
    monkeypatch.setenv("BACKUP_KEEP", "2")
    reset_settings_cache()
    f.institute(db)
    names = [backup.create_backup(engine=db.engine).name for _ in range(3)]
    kept = backup.find_backups(tmp_path)
    assert [b.name for b in kept] == names[:0:-1]  # newest first, the oldest pruned
    assert len(list(tmp_path.glob("*.manifest.json"))) == 2

    job = all_jobs()["backup_database"]
    assert job.trigger["trigger"] == "cron"
    record = runner.run_job(job, engine=db.engine)
    assert record.outcome == "ok", record.error
    newest = backup.find_backups(tmp_path)[0]
    assert record.counts["file"] == newest.name and record.counts["rows"] > 0
    assert len(backup.find_backups(tmp_path)) == 2
    assert runner.run_job(job, engine=db.engine) is None  # once a day


def test_only_the_super_admin_takes_lists_or_downloads_backups(db, tmp_path):
    inst = f.institute(db)
    admin = f.actor_for(f.user(db, inst, Role.ADMIN))
    root = f.actor_for(f.user(db, None, Role.SUPER_ADMIN))
    with db.scope(root) as s, pytest.raises(NotFound, match="no backup yet"):
        backup.backup_for_download(s, actor=root, directory=tmp_path)
    with db.scope(root) as s:
        taken = backup.backup_now(s, actor=root, directory=tmp_path)
    with db.scope(admin) as s:
        with pytest.raises(PermissionDenied):
            backup.backup_now(s, actor=admin, directory=tmp_path)
        with pytest.raises(PermissionDenied):
            backup.backup_for_download(s, actor=admin, directory=tmp_path)
    with pytest.raises(PermissionDenied):
        backup.list_backups(actor=admin, directory=tmp_path)
    assert [b.name for b in backup.list_backups(actor=root, directory=tmp_path)] == [taken.name]
    with db.scope(root) as s:
        got = backup.backup_for_download(s, actor=root, directory=tmp_path)
    assert got.path.read_bytes()[:2] in (b"\x1f\x8b", b"PG")  # gzip or pg_dump's custom format
    with db.scope(root) as s:
        actions = [e.action for e in audit.list_entries(s, actor=root, action_prefix="system.")]
    assert actions == ["system.backup_download", "system.backup"]


def test_drill_without_a_backup_or_an_admin_url_says_what_to_do(db, tmp_path, monkeypatch):
    with pytest.raises(backup.BackupError, match="There is no finished backup"):
        drill.run_drill(directory=tmp_path)
    taken = backup.create_backup(engine=db.engine, directory=tmp_path)
    monkeypatch.delenv("RESTORE_DRILL_ADMIN_URL", raising=False)
    report = drill.run_drill(taken.path, admin_url=None)
    if db.kind == "postgres":
        assert not report.ok
        assert "--admin-url or set RESTORE_DRILL_ADMIN_URL" in report.problems[0].detail
    else:
        assert report.ok, report.text()  # SQLite restores into a temporary file


def test_restore_drill_script_exit_codes(db, tmp_path, capsys):
    from scripts.restore_drill import main

    assert main(["--dir", str(tmp_path)]) == 2
    assert "There is no finished backup" in capsys.readouterr().err
    f.institute(db)
    args = ["--dir", str(tmp_path), "--admin-url", ADMIN_URL, "--database-url", db.url]
    assert main([*args, "--backup-first"]) == 0
    out = capsys.readouterr().out
    assert "PASSED" in out and "✓ PASS row counts" in out
    if db.kind == "postgres":
        return  # the drill's failures are the same on both; one more scratch restore is slow
    manifest = backup.find_backups(tmp_path)[0].manifest_path
    manifest.write_text(manifest.read_text().replace('"institutes": 1', '"institutes": 2'))
    assert main(args) == 1
    assert "✗ FAIL row counts: institutes: backup recorded 2, restored 1" in capsys.readouterr().out
