"""The seeded medium institute scores the same on SQLite and on PostgreSQL."""

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from app.academics.models import Student
from app.core import clock
from app.core.db import engine_for, session_scope
from app.demo.seed import seed_demo
from app.risk import engine
from app.risk.models import StudentRiskProfile

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


def _scores(url: str) -> dict[str, tuple]:
    db_engine = engine_for(url)
    with clock.frozen(NOW):
        result = seed_demo(size="medium", engine=db_engine)
        institute_id = result.institute_ids[0]
        with session_scope(institute_id=institute_id, engine=db_engine) as s:
            engine.recompute_institute(s, institute_id=institute_id)
    with session_scope(institute_id=institute_id, engine=db_engine) as s:
        rows = s.exec(
            select(StudentRiskProfile, Student.enrollment_no).join(
                Student, Student.id == StudentRiskProfile.student_id
            )
        ).all()
        return {
            enrollment_no: (
                p.score,
                p.level,
                p.attendance,
                p.homework,
                p.fees,
                p.tests,
                tuple(p.flags),
                tuple(p.reasons),
            )
            for p, enrollment_no in rows
        }


@pytest.mark.postgres
def test_medium_institute_scores_the_same_on_sqlite_and_postgresql(_backends):
    for backend in _backends.values():
        backend.prepare()
        backend.reset()
    on_sqlite = _scores(_backends["sqlite"].url)
    on_postgres = _scores(_backends["postgres"].url)
    assert len(on_sqlite) > 100
    levels = {v[1] for v in on_sqlite.values()}
    assert {"LOW", "MEDIUM"} <= levels  # the demo has students to worry about
    assert on_sqlite == on_postgres
