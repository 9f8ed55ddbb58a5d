"""The daily risk recompute: every institute, one set-based pass each, in its own transaction."""

from __future__ import annotations

from sqlmodel import select

from app.core.db import session_scope
from app.identity.models import Institute
from app.risk import engine as risk_engine
from app.worker.registry import Job, day_period


def student_risk_recompute(*, engine=None) -> dict:
    totals = {"institutes": 0, "students": 0, "events": 0, "actions": 0}
    with session_scope(system=True, engine=engine) as session:
        ids = list(session.exec(select(Institute.id).order_by(Institute.id)))
    for institute_id in ids:
        with session_scope(institute_id=institute_id, engine=engine) as session:
            result = risk_engine.recompute_institute(session, institute_id=institute_id)
        totals["institutes"] += 1
        totals["students"] += result.students
        totals["events"] += result.events
        totals["actions"] += result.actions
    return totals


JOBS = [
    Job(
        name="student_risk_recompute",
        run=student_risk_recompute,
        trigger={"trigger": "cron", "hour": 4, "minute": 0},
        period=day_period,
        description="Recompute every student's risk profile; HIGH transitions open actions",
    ),
]
