"""Coursework jobs: homework not handed in by its due date becomes missing, daily."""

from __future__ import annotations

from sqlmodel import select

from app.core.db import session_scope
from app.coursework import service
from app.identity.models import Institute
from app.worker.registry import Job, day_period


def homework_missing(*, engine=None) -> dict:
    """In every institute, work still `assigned` after its due date (institute time) becomes
    `missing` — one transaction per institute, idempotent."""
    with session_scope(system=True, engine=engine) as session:
        ids = list(session.exec(select(Institute.id)))
    marked = 0
    for institute_id in ids:
        with session_scope(institute_id=institute_id, engine=engine) as session:
            marked += service.mark_missing_homework_internal(session, institute_id=institute_id)
    return {"institutes": len(ids), "missing": marked}


JOBS = [
    Job(
        name="homework_missing",
        run=homework_missing,
        trigger={"trigger": "cron", "hour": 0, "minute": 30},
        period=day_period,
        description="Mark homework not handed in by its due date as missing",
    ),
]
