"""The monthly progress report to guardians: on the 1st, last month's, for every institute."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from app.core import clock
from app.reports import service
from app.worker.registry import InstituteRef, Job, day_period, for_each_institute


def monthly_progress_reports(*, engine: Engine | None = None) -> dict[str, Any]:
    def work(session: Session, institute: InstituteRef) -> dict[str, int]:
        today = clock.today_in(institute.timezone)
        last_month = today.replace(day=1) - timedelta(days=1)
        return {
            "queued": service.send_month_internal(
                session, institute_id=institute.id, month=last_month
            )
        }

    return for_each_institute(work, engine=engine)


JOBS = [
    Job(
        name="monthly_progress_reports",
        run=monthly_progress_reports,
        trigger={"trigger": "cron", "day": 1, "hour": 9, "minute": 0},
        period=day_period,
        description="Send guardians last month's progress report (attendance, topics, marks, fees)",
    ),
]
