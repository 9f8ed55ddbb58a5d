"""The daily risk recompute: every institute read in one set-based pass, then each institute's
changes written in its own transaction."""

from __future__ import annotations

from app.core import clock
from app.core.db import session_scope
from app.risk import engine as risk_engine
from app.worker.registry import Job, day_period, for_each_institute


def student_risk_recompute(*, engine=None) -> dict:
    now = clock.now()
    with session_scope(system=True, engine=engine) as session:
        read = risk_engine.gather_all(session)  # every institute in one set-based pass

    def work(session, institute):
        if institute.id not in read:
            return {}
        inputs, settings = read[institute.id]
        moved, gone = risk_engine.pending(inputs, settings)
        if not moved and not gone:  # a quiet day here: nothing to write
            return {"students": len(inputs.students)}
        result = risk_engine.apply_internal(
            session, institute_id=institute.id, inputs=inputs, settings=settings, now=now
        )
        return {
            "students": result.students,
            "events": result.events,
            "actions": result.actions,
            "written": result.written,
        }

    zero = {"students": 0, "events": 0, "actions": 0, "written": 0}
    return zero | for_each_institute(work, engine=engine)


JOBS = [
    Job(
        name="student_risk_recompute",
        run=student_risk_recompute,
        trigger={"trigger": "cron", "hour": 4, "minute": 0},
        period=day_period,
        description="Recompute every student's risk profile; HIGH transitions open actions",
    ),
]
