"""House-keeping jobs: delete expired codes, sessions, links, rate events and old run records."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import col

from app.core import clock, ratelimit
from app.core.db import session_scope
from app.identity import otp
from app.identity.models import AuthSession, PasswordLink
from app.worker.models import JobInstituteRun, JobRun
from app.worker.registry import daily_job


def cleanup(*, engine=None) -> dict:
    now = clock.now()
    with session_scope(system=True, engine=engine) as session:
        codes = otp.purge_expired(session)
        events = ratelimit.purge_older_than(session, timedelta(days=1))
        sessions = (
            session.execute(
                delete(AuthSession).where(
                    (col(AuthSession.expires_at) < now - timedelta(days=30))
                    | (col(AuthSession.ended_at) < now - timedelta(days=30))
                )
            ).rowcount
            or 0
        )
        links = (
            session.execute(
                delete(PasswordLink).where(col(PasswordLink.expires_at) < now - timedelta(days=30))
            ).rowcount
            or 0
        )
        runs = (
            session.execute(
                delete(JobRun).where(col(JobRun.started_at) < now - timedelta(days=90))
            ).rowcount
            or 0
        )
        # Only a period still being retried needs to know which institutes are done.
        runs += (
            session.execute(
                delete(JobInstituteRun).where(
                    col(JobInstituteRun.finished_at) < now - timedelta(days=7)
                )
            ).rowcount
            or 0
        )
    return {
        "codes": codes,
        "rate_events": events,
        "sessions": sessions,
        "password_links": links,
        "job_runs": runs,
    }


def backup_database(*, engine=None) -> dict:
    """Take the daily backup of the whole database and keep the newest BACKUP_KEEP copies."""
    from app.system.backup import create_backup

    taken = create_backup(engine=engine)
    return {"file": taken.name, "bytes": taken.size, "rows": taken.total_rows}


JOBS = [
    daily_job(
        "cleanup_expired",
        cleanup,
        hour=2,
        minute=30,
        description="Delete expired sign-in codes, sessions, links, rate events and old run records",
    ),
    daily_job(
        "backup_database",
        backup_database,
        hour=1,
        minute=45,
        description="Back up the whole database (SQLite online backup / pg_dump) with a manifest",
    ),
]
