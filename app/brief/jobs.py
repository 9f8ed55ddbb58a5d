"""The daily teacher brief: every 15 minutes, each institute whose local time has passed
DAILY_TEACHER_BRIEF_TIME gets its teachers' briefs queued — once per teacher per local day."""

from __future__ import annotations

from datetime import datetime

from app.brief import service
from app.core import clock
from app.worker.registry import Job, for_each_institute, minute_period


def daily_teacher_brief(*, engine=None) -> dict:
    """Queue the morning brief in every institute where it is due (one transaction each)."""
    now = clock.now()

    def work(session, institute):
        counts = service.send_briefs_internal(session, institute_id=institute.id, now=now)
        return {k: counts[k] for k in ("due", "teachers", "messages")}

    return {"due": 0, "teachers": 0, "messages": 0} | for_each_institute(work, engine=engine)


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
