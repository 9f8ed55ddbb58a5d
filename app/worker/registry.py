"""Jobs declared by the domains (`app/<domain>/jobs.py: JOBS`), gathered in one registry."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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


def all_jobs() -> dict[str, Job]:
    jobs: dict[str, Job] = {}
    for module_name in JOB_MODULES:
        for job in importlib.import_module(module_name).JOBS:
            if job.name in jobs:
                raise RuntimeError(f"two jobs are called {job.name}")
            jobs[job.name] = job
    return jobs
