"""The daily risk recompute: every institute read in one set-based pass, then each institute's
changes written in its own transaction.

Scoring is pure Python and writing mostly waits on the database, so one thread scores the
institutes in order while the main thread writes the one before: on two cores the write of
15,000 profiles hides most of the scoring. The cyclic garbage collector is paused for the
pass (see `app.core.heap`)."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from app.core import clock
from app.core.db import session_scope
from app.core.heap import collector_paused
from app.risk import engine as risk_engine
from app.worker.registry import Job, day_period, for_each_institute

# Students scored in one part: the part after is scored while this one is written.
PART = 2000


def _rows(statement: Any, engine: Any) -> list[Any]:
    with session_scope(system=True, engine=engine, readonly=True) as session:
        return list(session.connection().execute(statement))


def student_risk_recompute(*, engine=None) -> dict:
    now = clock.now()
    zero = {"students": 0, "events": 0, "actions": 0, "written": 0}
    with collector_paused(), ThreadPoolExecutor(1, thread_name_prefix="risk-scoring") as pool:

        def read_aside(statement: Any) -> Future[list[Any]]:
            # The thread is free until scoring starts, after the read.
            return pool.submit(_rows, statement, engine)

        with session_scope(system=True, engine=engine) as session:
            # Every institute in one set-based pass; on PostgreSQL the attendance window is read
            # on a second connection meanwhile, so the database works on two cores (the two
            # reads are moments apart, which a daily score does not notice).
            two = session.get_bind().dialect.name == "postgresql"
            read = risk_engine.gather_all(session, read_aside=read_aside if two else None)
        parts: dict[int, list[Future[risk_engine.Scored]]] = {}
        due: dict[int, tuple[list[int], list[int]]] = {}
        for institute_id, (inputs, settings) in sorted(read.items()):
            moved, gone = due[institute_id] = risk_engine.pending(inputs, settings)
            parts[institute_id] = [
                pool.submit(
                    risk_engine.score_students,
                    inputs,
                    settings,
                    moved[n : n + PART],
                    institute_id=institute_id,
                    now=now,
                )
                for n in range(0, len(moved), PART)
            ]

        def work(session, institute):
            if institute.id not in read:
                return {}
            inputs, settings = read[institute.id]
            moved, gone = due[institute.id]
            if not moved and not gone:  # a quiet day here: nothing to write
                return {"students": len(inputs.students)}
            result = risk_engine.apply_internal(
                session,
                institute_id=institute.id,
                inputs=inputs,
                settings=settings,
                now=now,
                due=due[institute.id],
                scored=(part.result() for part in parts[institute.id]),
            )
            return {
                "students": result.students,
                "events": result.events,
                "actions": result.actions,
                "written": result.written,
            }

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
