"""Reads for the System page that are not tied to one institute (health, job runs)."""

from __future__ import annotations

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
