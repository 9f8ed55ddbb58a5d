"""Coursework jobs: homework not handed in by its due date becomes missing, daily."""

from __future__ import annotations

from app.coursework import service
from app.worker.registry import daily_job, for_each_institute


def homework_missing(*, engine=None) -> dict:
    """In every institute, work still `assigned` after its due date (institute time) becomes
    `missing` — one transaction per institute, idempotent."""

    def work(session, institute):
        return {
            "missing": service.mark_missing_homework_internal(session, institute_id=institute.id)
        }

    return {"missing": 0} | for_each_institute(work, engine=engine)


JOBS = [
    daily_job(
        "homework_missing",
        homework_missing,
        hour=0,
        minute=30,
        description="Mark homework not handed in by its due date as missing",
    ),
]
