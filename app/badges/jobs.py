"""Badge jobs: evaluate every institute's automatic badge rules once a day."""

from __future__ import annotations

from sqlmodel import select

from app.badges.rules import evaluate_rules_internal
from app.core.db import session_scope
from app.identity.models import Institute
from app.worker.registry import Job, day_period


def badge_rules(*, engine=None) -> dict:
    totals = {"institutes": 0, "rule_awards": 0, "progression_awards": 0}
    with session_scope(system=True, engine=engine) as session:
        ids = list(session.exec(select(Institute.id)))
    for institute_id in ids:
        with session_scope(institute_id=institute_id, engine=engine) as session:
            counts = evaluate_rules_internal(session, institute_id=institute_id)
        totals["institutes"] += 1
        totals["rule_awards"] += counts["rule_awards"]
        totals["progression_awards"] += counts["progression_awards"]
    return totals


JOBS = [
    Job(
        name="badge_rules",
        run=badge_rules,
        trigger={"trigger": "cron", "hour": 4, "minute": 0},
        period=day_period,
        description="Award badges whose automatic rules students now meet (with progression)",
    ),
]
