"""Attendance jobs: create the coming days' sessions daily; open, close and mark missed every 5 minutes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.attendance import service
from app.core import clock
from app.core.db import session_scope
from app.worker.registry import (
    InstituteRef,
    Job,
    daily_job,
    for_each_institute,
    minute_period,
)


def create_sessions(*, engine=None) -> dict:
    """Today's and tomorrow's sessions for every institute, in each institute's own calendar."""

    def work(session, institute):
        today = clock.today_in(institute.timezone)
        created = service.generate_sessions_internal(
            session, institute_id=institute.id, start=today, end=today + timedelta(days=1)
        )
        return {"created": created}

    return {"created": 0} | for_each_institute(work, engine=engine)


def enrolment_completion(*, engine: Engine | None = None) -> dict[str, Any]:
    """Every enrolment's completion % from the syllabus as it now stands (topics added or
    archived since the last class, assessments, corrections): one statement per institute."""

    def work(session: Session, institute: InstituteRef) -> dict[str, int]:
        return {
            "enrolments_updated": service.enrolment_completion_internal(
                session, institute_id=institute.id
            )
        }

    return {"enrolments_updated": 0} | for_each_institute(work, engine=engine)


def auto_close(*, engine=None) -> dict:
    with session_scope(system=True, engine=engine) as session:
        return service.auto_close(session)


def _five_minutes(moment) -> str:
    return minute_period(moment.replace(minute=moment.minute - moment.minute % 5))


JOBS = [
    Job(
        name="attendance_create_sessions",
        run=create_sessions,
        trigger={"trigger": "cron", "minute": 5},
        period=lambda m: m.strftime("%Y-%m-%dT%H"),
        description="Create today's and tomorrow's class sessions (hourly, idempotent)",
    ),
    daily_job(
        "attendance_enrolment_completion",
        enrolment_completion,
        hour=1,
        minute=40,
        description="Recompute every enrolment's completion % (daily, set-based per institute)",
    ),
    Job(
        name="attendance_auto_close",
        run=auto_close,
        trigger={"trigger": "interval", "minutes": 5},
        period=_five_minutes,
        description="Open sessions, close submitted ones, mark unsubmitted ones missed",
    ),
]
