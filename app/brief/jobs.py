"""The daily teacher brief: every 15 minutes, each institute whose local time has passed
DAILY_TEACHER_BRIEF_TIME gets its teachers' briefs queued — once per teacher per local day."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select

from app.brief import service
from app.core import clock
from app.core.db import session_scope
from app.identity.models import Institute
from app.worker.registry import Job, minute_period


def daily_teacher_brief(*, engine=None) -> dict:
    """Queue the morning brief in every institute where it is due (one transaction each)."""
    now = clock.now()
    with session_scope(system=True, engine=engine) as session:
        ids = list(session.exec(select(Institute.id)))
    totals = {"institutes": len(ids), "due": 0, "teachers": 0, "messages": 0}
    for institute_id in ids:
        with session_scope(institute_id=institute_id, engine=engine) as session:
            counts = service.send_briefs_internal(session, institute_id=institute_id, now=now)
        for key in ("due", "teachers", "messages"):
            totals[key] += counts[key]
    return totals


def _quarter_hour(moment: datetime) -> str:
    return minute_period(moment.replace(minute=moment.minute - moment.minute % 15))


JOBS = [
    Job(
        name="daily_teacher_brief",
        run=daily_teacher_brief,
        trigger={"trigger": "cron", "minute": "*/15"},
        period=_quarter_hour,
        description="Each teacher's morning brief at DAILY_TEACHER_BRIEF_TIME, institute time",
    ),
]
