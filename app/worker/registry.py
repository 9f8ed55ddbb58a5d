"""Jobs declared by the domains (`app/<domain>/jobs.py: JOBS`), gathered in one registry."""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlmodel import Session

log = logging.getLogger("cohort.worker")

# Domains whose jobs.py declares JOBS. Later domains add themselves here.
JOB_MODULES = [
    "app.notify.jobs",
    "app.system.jobs",
    "app.attendance.jobs",
    "app.fees.jobs",
    "app.risk.jobs",
    "app.coursework.jobs",
    "app.badges.jobs",
    "app.crm.jobs",
    "app.brief.jobs",
    "app.materials.jobs",
    "app.reports.jobs",
    "app.bot.jobs",
]


def minute_period(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def day_period(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


@dataclass(frozen=True)
class Job:
    """A scheduled job: `run(engine)` does the work and returns counts for the run record."""

    name: str
    run: Callable[..., dict[str, Any]]
    trigger: dict[
        str, Any
    ]  # APScheduler add_job kwargs, e.g. {"trigger": "interval", "minutes": 1}
    period: Callable[[datetime], str] = minute_period
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def describe_trigger(self) -> str:
        kind = self.trigger.get("trigger")
        rest = ", ".join(f"{k}={v}" for k, v in self.trigger.items() if k != "trigger")
        return f"{kind}({rest})"


def daily_job(
    name: str, run: Callable[..., dict[str, Any]], *, hour: int, minute: int, description: str
) -> Job:
    """A job run once a day at hour:minute, counted as one run per day."""
    return Job(
        name=name,
        run=run,
        trigger={"trigger": "cron", "hour": hour, "minute": minute},
        period=day_period,
        description=description,
    )


# Set when the worker process stops: a long-running job (listening to Telegram) ends early.
STOPPING = threading.Event()


def all_services() -> list[Callable[[], Any]]:
    """Background services the worker process starts besides its jobs (each domain's jobs.py
    may declare SERVICES: callables that start a daemon thread when they have work to do,
    such as the Telegram webhook route)."""
    found: list[Callable[[], Any]] = []
    for module_name in JOB_MODULES:
        found.extend(getattr(importlib.import_module(module_name), "SERVICES", []))
    return found


def all_jobs() -> dict[str, Job]:
    jobs: dict[str, Job] = {}
    for module_name in JOB_MODULES:
        for job in importlib.import_module(module_name).JOBS:
            if job.name in jobs:
                raise RuntimeError(f"two jobs are called {job.name}")
            jobs[job.name] = job
    return jobs


# ------------------------------------------------------------------ one loop over institutes

_RUN: ContextVar[tuple[str, str] | None] = ContextVar("cohort_job_run", default=None)


@contextmanager
def running(job: str, period: str) -> Iterator[None]:
    """While a job runs for `period` (set by the runner), `for_each_institute` records each
    institute it finishes and skips the ones already done for that period."""
    token = _RUN.set((job, period))
    try:
        yield
    finally:
        _RUN.reset(token)


@dataclass(frozen=True)
class InstituteRef:
    id: int
    timezone: str


class InstitutesFailed(Exception):
    """Some institutes failed (the others ran and committed); the run is recorded as failed so
    a rerun of the period retries the failed ones only."""

    def __init__(self, totals: dict[str, Any], failures: list[tuple[int, str]]) -> None:
        self.totals = totals
        self.failures = failures
        listed = "; ".join(f"institute {i}: {error}" for i, error in failures)
        done = totals.get("institutes", 0)
        super().__init__(f"{len(failures)} institute(s) failed, {done} done. {listed}")


def for_each_institute(
    work: Callable[[Session, InstituteRef], dict[str, int] | None], *, engine=None
) -> dict[str, Any]:
    """Run `work(session, institute)` for every institute, each in its own transaction scoped
    to that institute, and sum the counts it returns. One institute raising never stops the
    others: its transaction rolls back, the error is logged and collected, and at the end
    `InstitutesFailed` carries the totals and failures to the run record. Inside a run (see
    `running`), each institute done is recorded in the same transaction as its work, and a
    rerun of the period skips those — so only the failed ones are retried."""
    from sqlmodel import select

    from app.core.db import session_scope
    from app.identity.models import Institute
    from app.worker.models import JobInstituteRun

    run = _RUN.get()
    with session_scope(system=True, engine=engine) as session:
        institutes = [
            InstituteRef(i, tz)
            for i, tz in session.exec(
                select(Institute.id, Institute.timezone).order_by(Institute.id)
            )
        ]
        done: set[int] = set()
        if run is not None:
            done = set(
                session.exec(
                    select(JobInstituteRun.institute_id).where(
                        JobInstituteRun.job == run[0], JobInstituteRun.period == run[1]
                    )
                )
            )
    totals: dict[str, Any] = {"institutes": 0}
    if done:
        totals["already_done"] = len(done)
    failures: list[tuple[int, str]] = []
    for institute in institutes:
        if institute.id in done:
            continue
        try:
            with session_scope(institute_id=institute.id, engine=engine) as session:
                counts = dict(work(session, institute) or {})
                if run is not None:
                    session.add(
                        JobInstituteRun(
                            institute_id=institute.id, job=run[0], period=run[1], counts=counts
                        )
                    )
        except Exception as exc:  # noqa: BLE001 - one institute never stops the others
            log.exception("institute %s failed in %s", institute.id, run[0] if run else "a job")
            failures.append((institute.id, f"{type(exc).__name__}: {exc}"[:300]))
            continue
        totals["institutes"] += 1
        for key, value in counts.items():
            if isinstance(value, int):
                totals[key] = totals.get(key, 0) + value
    if failures:
        raise InstitutesFailed(totals, failures)
    return totals
