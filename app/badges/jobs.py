"""Badge jobs: evaluate every institute's automatic badge rules once a day."""

from __future__ import annotations

from app.badges.rules import evaluate_rules_internal
from app.worker.registry import daily_job, for_each_institute


def badge_rules(*, engine=None) -> dict:
    def work(session, institute):
        counts = evaluate_rules_internal(session, institute_id=institute.id)
        return {k: counts[k] for k in ("rule_awards", "progression_awards")}

    return {"rule_awards": 0, "progression_awards": 0} | for_each_institute(work, engine=engine)


JOBS = [
    daily_job(
        "badge_rules",
        badge_rules,
        hour=4,
        minute=0,
        description="Award badges whose automatic rules students now meet (with progression)",
    ),
]
