"""The daily risk recompute: every institute read in one set-based pass, then each institute's
changes written in its own transaction."""

from __future__ import annotations

from app.core import clock
from app.core.db import session_scope
from app.risk import engine as risk_engine
from app.worker.registry import Job, day_period


def student_risk_recompute(*, engine=None) -> dict:
    totals = {"institutes": 0, "students": 0, "events": 0, "actions": 0, "written": 0}
    now = clock.now()
    with session_scope(system=True, engine=engine) as session:
        read = risk_engine.gather_all(session)
    for institute_id, (inputs, settings) in read.items():
        moved, gone = risk_engine.pending(inputs, settings)
        if not moved and not gone:  # a quiet day here: nothing to write, no transaction
            totals["institutes"] += 1
            totals["students"] += len(inputs.students)
            continue
        with session_scope(institute_id=institute_id, engine=engine) as session:
            result = risk_engine.apply_internal(
                session, institute_id=institute_id, inputs=inputs, settings=settings, now=now
            )
        totals["institutes"] += 1
        totals["students"] += result.students
        totals["events"] += result.events
        totals["actions"] += result.actions
        totals["written"] += result.written
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
