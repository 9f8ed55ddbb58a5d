"""The risk trend reads the level each student had when the range starts plus the events inside
it, and gives the same days as replaying the whole history (which grows every day)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from app.academics import service as academics
from app.core import clock
from app.core.roles import Role
from app.risk import service as risk
from app.risk.models import StudentRiskEvent
from tests import factories as f

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def _replay_everything(events, start, days):
    """The old way, as the oracle: every event ever, in order."""
    events = sorted(events, key=lambda e: (e.created_at, e.id))
    current, out, i = {}, [], 0
    for n in range(days):
        day = start + timedelta(days=n)
        while i < len(events) and events[i].created_at.date() <= day:
            current[events[i].student_id] = events[i].to_level
            i += 1
        counts = dict.fromkeys(("LOW", "MEDIUM", "HIGH"), 0)
        for level in current.values():
            counts[level] += 1
        out.append({"date": day, **counts})
    return out


def test_the_trend_matches_a_replay_of_the_whole_history(db):
    inst = f.institute(db, timezone="UTC")
    admin = f.actor_for(f.user(db, inst, Role.ADMIN))
    with db.scope(admin) as s:
        ids = [
            academics.create_student(s, actor=admin, enrollment_no=f"R-{n}", name=f"R {n}").id
            for n in range(12)
        ]
    rng = random.Random(5)
    with db.scope(institute_id=inst.id) as s:
        for sid in ids[:-1]:  # the last student has no event at all
            for _ in range(rng.randint(1, 6)):
                s.add(
                    StudentRiskEvent(
                        institute_id=inst.id,
                        student_id=sid,
                        to_level=rng.choice(["LOW", "MEDIUM", "HIGH"]),
                        score=50,
                        created_at=NOW
                        - timedelta(days=rng.randint(0, 120), hours=rng.randint(0, 5)),
                    )
                )
    with clock.frozen(NOW), db.scope(admin) as s:
        shown = risk.trend(s, actor=admin, days=30)
        every = list(s.exec(select(StudentRiskEvent)))
    for event in every:
        if event.created_at.tzinfo is None:
            event.created_at = event.created_at.replace(tzinfo=UTC)
    start = NOW.date() - timedelta(days=29)
    assert shown == _replay_everything(every, start, 30)
    assert sum(shown[-1][k] for k in ("LOW", "MEDIUM", "HIGH")) == 11
    assert any(e.created_at.date() < start for e in every)  # history before the range counted
