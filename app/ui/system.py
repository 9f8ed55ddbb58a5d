"""Reads and actions for the System page that are not tied to one institute (health, job runs,
backups), and the institute export handed to a download button."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence

from app.core.db import session_scope
from app.core.tenancy import Actor
from app.system import backup as backups
from app.system import export
from app.system.health import Check, run_checks
from app.worker import runner
from app.worker.models import JobRun
from app.worker.registry import all_jobs


def health_checks() -> list[Check]:
    return run_checks()


def job_runs(limit: int = 30) -> list[JobRun]:
    return runner.recent_runs(limit=limit)


def job_names() -> list[str]:
    return list(all_jobs())


def run_job_now(name: str) -> JobRun:
    return runner.run_job(all_jobs()[name], trigger="manual")


def backup_list(actor: Actor) -> list[backups.Backup]:
    """The deployment's backups, newest first (super admin only)."""
    return backups.list_backups(actor=actor)


def backup_download(actor: Actor, name: str) -> Callable[[], bytes]:
    """The bytes of one backup, read only when the button is pressed; the download is audited."""

    def data() -> bytes:
        with session_scope(actor) as session:
            chosen = backups.backup_for_download(session, actor=actor, name=name)
        return chosen.path.read_bytes()

    return data


def build_export(
    session, *, actor: Actor, format: export.Format, tables: Sequence[str], include_personal: bool
) -> tuple[bytes, export.ExportSummary]:
    """Write the institute's export to a temporary file and hand back its bytes and summary."""
    with tempfile.TemporaryFile() as out:
        summary = export.write_export(
            session,
            actor=actor,
            out=out,
            format=format,
            tables=list(tables),
            include_personal=include_personal,
        )
        out.seek(0)
        return out.read(), summary
