"""Attendance jobs: create the coming days' sessions daily; open, close and mark missed every 5 minutes."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from app.attendance import service
from app.core import clock
from app.core.db import session_scope
from app.identity.models import Institute
from app.worker.registry import Job, minute_period


def create_sessions(*, engine=None) -> dict:
    """Today's and tomorrow's sessions for every institute, in each institute's own calendar."""
    created = 0
    with session_scope(system=True, engine=engine) as session:
        institutes = session.exec(select(Institute.id, Institute.timezone)).all()
    for institute_id, timezone in institutes:
        today = clock.today_in(timezone)
        with session_scope(institute_id=institute_id, engine=engine) as session:
            created += service.generate_sessions_internal(
                session, institute_id=institute_id, start=today, end=today + timedelta(days=1)
            )
    return {"institutes": len(institutes), "created": created}


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
    Job(
        name="attendance_auto_close",
        run=auto_close,
        trigger={"trigger": "interval", "minutes": 5},
        period=_five_minutes,
        description="Open sessions, close submitted ones, mark unsubmitted ones missed",
    ),
]
