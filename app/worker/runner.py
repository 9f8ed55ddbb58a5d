"""Running a job once for a period, with a run record; and the worker's leadership lease.

A period (e.g. the minute or the day) runs at most once: the run record's unique (job, period)
key is taken before the work starts, so two workers, or a scheduled run overlapping a manual
one, cannot both do it. A period whose run failed may be taken again (`retry_failed`, every 15
minutes in the worker): per-institute jobs then redo only the institutes not yet done.

Leadership: on PostgreSQL the leader holds a session-level advisory lock on a dedicated
connection for as long as it lives; on SQLite a lease row with a heartbeat does the same (a
lease not renewed for LEASE_TIMEOUT is taken over). Either way the heartbeat is written to the
lease row, which the health check reads.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from app.core import clock
from app.core.clock import aware_utc
from app.core.db import get_engine, session_scope
from app.worker.models import JobRun, WorkerLease
from app.worker.registry import InstitutesFailed, Job, running

log = logging.getLogger("cohort.worker")
LEASE_NAME = "scheduler"
HEARTBEAT_SECONDS = 30
RETRY_MINUTES = 15  # a failed period (say, one institute's database error) is retried this often
LEASE_TIMEOUT = timedelta(seconds=90)
ADVISORY_KEY = 7_412_025  # arbitrary, constant for this application


def run_job(job: Job, *, engine: Engine | None = None, trigger: str = "schedule") -> JobRun | None:
    """Run `job` for the current period; None when that period already ran (or is running)."""
    now = clock.now()
    period = (
        job.period(now) if trigger == "schedule" else f"manual:{now.isoformat(timespec='seconds')}"
    )
    run_id = _claim(job.name, period, now, trigger, engine)
    if run_id is None:
        log.info("%s for %s already ran; skipping", job.name, period)
        return None
    outcome, counts, error = "ok", None, None
    try:
        with running(job.name, period):
            counts = job.run(engine=engine)
    except InstitutesFailed as exc:
        outcome, counts, error = "failed", exc.totals, str(exc)[:2000]
        log.error("job %s: %s", job.name, exc)
    except Exception as exc:  # noqa: BLE001 - a job failure is recorded, never fatal to the worker
        outcome, error = (
            "failed",
            "".join(traceback.format_exception_only(type(exc), exc)).strip()[:2000],
        )
        log.exception("job %s failed", job.name)
    with session_scope(system=True, engine=engine) as session:
        record = session.get(JobRun, run_id)
        record.finished_at, record.outcome, record.counts, record.error = (
            clock.now(),
            outcome,
            counts,
            error,
        )
        session.add(record)
    return record


def _claim(job: str, period: str, now: datetime, trigger: str, engine: Engine | None) -> int | None:
    """The id of the run record this call now owns for (job, period): a new one, or the record
    of a failed run of that period taken back (by exactly one caller); None when the period ran
    or is running."""
    try:
        with session_scope(system=True, engine=engine) as session:
            record = JobRun(job=job, period=period, started_at=now, trigger=trigger)
            session.add(record)
            session.flush()
            return record.id
    except IntegrityError:
        pass
    with session_scope(system=True, engine=engine, immediate=True) as session:
        taken = session.execute(
            update(JobRun)
            .where(JobRun.job == job, JobRun.period == period, JobRun.outcome == "failed")
            .values(outcome="running", started_at=now, finished_at=None, error=None)
        ).rowcount
        if taken != 1:
            return None
        return session.exec(
            select(JobRun.id).where(JobRun.job == job, JobRun.period == period)
        ).one()


def retry_failed(jobs: Iterable[Job], *, engine: Engine | None = None) -> list[JobRun]:
    """Run again every job whose current period failed (per-institute jobs redo only the
    institutes that did not finish). The worker calls this every 15 minutes."""
    now = clock.now()
    periods = {job.name: job.period(now) for job in jobs}
    with session_scope(system=True, engine=engine) as session:
        rows = session.exec(
            select(JobRun.job, JobRun.period).where(
                col(JobRun.job).in_(list(periods)),
                col(JobRun.period).in_(list(periods.values())),
                JobRun.outcome == "failed",
                JobRun.trigger == "schedule",
            )
        ).all()
    # Only the current period of each job: a period that has passed is not done late.
    failed = {job for job, period in rows if periods[job] == period}
    records = []
    for job in jobs:
        if job.name in failed:
            record = run_job(job, engine=engine)
            if record is not None:
                records.append(record)
    return records


def recent_runs(
    *, engine: Engine | None = None, limit: int = 50, job: str | None = None
) -> list[JobRun]:
    with session_scope(system=True, engine=engine) as session:
        query = select(JobRun)
        if job:
            query = query.where(JobRun.job == job)
        return list(session.exec(query.order_by(col(JobRun.id).desc()).limit(limit)))


def identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Leadership:
    """Become the one worker that runs jobs; `acquire()` returns False while another leads."""

    def __init__(self, engine: Engine | None = None, holder: str | None = None) -> None:
        self.engine = engine or get_engine()
        self.holder = holder or identity()
        self._connection = None

    @property
    def postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def acquire(self) -> bool:
        if self.postgres:
            if self._connection is None:
                self._connection = self.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT"
                )
            got = self._connection.execute(
                text("select pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}
            ).scalar()
            if not got:
                return False
            self._write_lease(force=True)
            return True
        return self._write_lease(force=False)

    def still_leader(self) -> bool:
        """Renew the heartbeat; False if leadership was lost (then stop running jobs)."""
        if self.postgres:
            try:
                self._connection.execute(text("select 1"))
            except Exception:  # noqa: BLE001 - the lock went with the connection
                return False
            self._write_lease(force=True)
            return True
        return self._write_lease(force=False)

    def release(self) -> None:
        with session_scope(system=True, engine=self.engine) as session:
            lease = session.get(WorkerLease, LEASE_NAME)
            if lease is not None and lease.holder == self.holder:
                session.delete(lease)
        if self._connection is not None:
            try:
                self._connection.execute(text("select pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
            finally:
                self._connection.close()
                self._connection = None

    def _write_lease(self, *, force: bool) -> bool:
        now = clock.now()
        try:
            with session_scope(system=True, engine=self.engine) as session:
                lease = session.get(WorkerLease, LEASE_NAME)
                if lease is None:
                    session.add(
                        WorkerLease(
                            name=LEASE_NAME, holder=self.holder, acquired_at=now, heartbeat_at=now
                        )
                    )
                    return True
                fresh = now - aware_utc(lease.heartbeat_at) < LEASE_TIMEOUT
                if lease.holder != self.holder and fresh and not force:
                    return False
                if lease.holder != self.holder:
                    lease.acquired_at = now
                lease.holder, lease.heartbeat_at = self.holder, now
                session.add(lease)
                return True
        except IntegrityError:
            return False


def last_heartbeat(*, engine: Engine | None = None) -> datetime | None:
    return leader(engine=engine)[0]


def leader(*, engine: Engine | None = None) -> tuple[datetime | None, str | None]:
    """The last heartbeat of whoever runs the jobs, and who: "worker host:pid" for the worker
    process, "web host:pid" for the scheduler inside a web process."""
    with session_scope(system=True, engine=engine) as session:
        lease = session.get(WorkerLease, LEASE_NAME)
        return (None, None) if lease is None else (aware_utc(lease.heartbeat_at), lease.holder)


def lead(
    jobs: Iterable[Job],
    leadership: Leadership,
    *,
    on_scheduler: Callable[[Any], None] | None = None,
) -> None:
    """Run every job on its trigger (and retry failed periods every 15 minutes) for as long as
    `leadership` holds; returns once it is lost or the scheduler is shut down. The one scheduler
    loop of both the worker process and the web process's embedded scheduler."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(
        timezone="UTC",
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
    )

    def heartbeat() -> None:
        if not leadership.still_leader():
            log.error("Lost the worker lease; stopping so the new leader runs alone.")
            scheduler.shutdown(wait=False)

    scheduler.add_job(heartbeat, "interval", seconds=HEARTBEAT_SECONDS, id="heartbeat")
    scheduler.add_job(
        retry_failed, "interval", minutes=RETRY_MINUTES, id="retry_failed", args=[list(jobs)]
    )
    for job in jobs:
        scheduler.add_job(run_job, id=job.name, args=[job], **job.trigger)
    if on_scheduler is not None:
        on_scheduler(scheduler)
    try:
        scheduler.start()
    finally:
        leadership.release()
