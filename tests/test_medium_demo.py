"""The seeded `medium` demo, built once on each database and checked end to end:

- the risk engine scores every student the same on SQLite and on PostgreSQL;
- the admin Overview's figures equal independent SQL over the same data (attendance %,
  collections, billing, outstanding, the conversion funnel, hours taught).

Seeding is the slow part, so one test seeds each database once and checks everything.
"""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import case, func, text
from sqlmodel import col, select

from app.academics.models import Student
from app.analytics import overview
from app.attendance.models import ClassSession
from app.core import clock
from app.core.db import engine_for, session_scope
from app.core.roles import Role
from app.core.tenancy import Actor
from app.crm.models import Inquiry
from app.demo.seed import seed_demo
from app.identity.models import Institute, User
from app.risk import engine
from app.risk.models import StudentRiskProfile
from tests.system.drill_checks import check_backup_and_drill

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
START, END = date(2026, 8, 1), date(2026, 11, 20)


def _scores(db_engine, institute_id: int) -> dict[str, tuple]:
    with session_scope(institute_id=institute_id, engine=db_engine) as s:
        rows = s.exec(
            select(StudentRiskProfile, Student.enrollment_no)
            .join(Student, Student.id == StudentRiskProfile.student_id)
            .where(StudentRiskProfile.institute_id == institute_id)  # SQLite has no RLS
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


def _independent(db_engine, institute_id: int) -> dict:
    """The Overview's headline figures, straight from the tables."""
    with session_scope(system=True, engine=db_engine) as s:
        present, marks = s.execute(
            text(
                "SELECT sum(CASE WHEN r.status IN ('present', 'late') THEN 1 ELSE 0 END), "
                "sum(CASE WHEN r.status <> 'excused' THEN 1 ELSE 0 END) "
                "FROM attendance_records r JOIN class_sessions c ON c.id = r.session_id "
                "WHERE c.institute_id = :i AND c.date >= :a AND c.date <= :b"
            ),
            {"i": institute_id, "a": START, "b": END},
        ).one()
        collected = s.execute(
            text(
                "SELECT coalesce(sum(amount_minor), 0) FROM payments "
                "WHERE institute_id = :i AND received_on >= :a AND received_on <= :b"
            ),
            {"i": institute_id, "a": START, "b": END},
        ).scalar_one()
        billed = s.execute(
            text(
                "SELECT coalesce(sum(total_minor), 0) FROM invoices WHERE institute_id = :i "
                "AND status <> 'void' AND issued_on >= :a AND issued_on <= :b"
            ),
            {"i": institute_id, "a": START, "b": END},
        ).scalar_one()
        outstanding = s.execute(
            text(
                "SELECT coalesce(sum(total_minor - paid_minor), 0) FROM invoices "
                "WHERE institute_id = :i AND status IN ('issued', 'partially_paid')"
            ),
            {"i": institute_id},
        ).scalar_one()
        tz = ZoneInfo(s.get(Institute, institute_id).timezone)
        since = datetime.combine(START, time.min, tzinfo=tz).astimezone(UTC)
        funnel = s.exec(
            select(
                func.count(),
                func.count(Inquiry.contacted_at),
                func.count(Inquiry.scheduled_at),
                func.sum(case((Inquiry.status == "enrolled", 1), else_=0)),
            ).where(Inquiry.institute_id == institute_id, Inquiry.created_at >= since)
        ).one()
        hours = sum(
            (end - begin).total_seconds() / 3600
            for begin, end in s.exec(
                select(ClassSession.starts_at, ClassSession.ends_at).where(
                    ClassSession.institute_id == institute_id,
                    col(ClassSession.status).in_(("submitted", "closed")),
                    ClassSession.date >= START,
                    ClassSession.date <= END,
                )
            ).all()
        )
    return {
        "attendance": round(100 * present / marks, 1),
        "collected": int(collected),
        "billed": int(billed),
        "outstanding": int(outstanding),
        "funnel": [int(n or 0) for n in funnel],
        "hours": hours,
    }


def _dashboard(db_engine, institute_id: int) -> dict:
    with session_scope(system=True, engine=db_engine) as s:
        admin = s.exec(
            select(User).where(User.institute_id == institute_id, User.role == Role.ADMIN.value)
        ).first()
    actor = Actor(user_id=admin.id, institute_id=institute_id, role=Role.ADMIN)
    filters = overview.Filters(start=START, end=END)
    with clock.frozen(NOW), session_scope(actor, engine=db_engine) as s:
        money = overview.money(s, actor=actor, filters=filters)
        weekly = overview.attendance_trend(s, actor=actor, filters=filters, weekly=True)
        return {
            "attendance": overview.attendance_percent(s, actor=actor, filters=filters),
            "weekly_marks": sum(r["Marks"] for r in weekly),
            "collected": money.collected,
            "by_month": sum(r["Collected"] for r in money.months),
            "billed": money.billed,
            "outstanding": money.outstanding,
            "funnel": [r["Inquiries"] for r in overview.funnel(s, actor=actor, filters=filters)],
            "hours": sum(
                r["Hours taught"] for r in overview.utilization(s, actor=actor, filters=filters)
            ),
        }


@pytest.mark.heavy(seconds=60)
@pytest.mark.postgres
def test_medium_demo_scores_alike_dashboards_match_sql_and_backups_drill(_backends, tmp_path):
    scores = {}
    for kind, backend in _backends.items():
        backend.prepare()
        backend.reset()
        db_engine = engine_for(backend.url)
        with clock.frozen(NOW):
            result = seed_demo(size="medium", engine=db_engine)
            institute_id = result.institute_ids[0]
            with session_scope(institute_id=institute_id, engine=db_engine) as s:
                engine.recompute_institute_internal(s, institute_id=institute_id)
        scores[kind] = _scores(db_engine, institute_id)

        shown, truth = _dashboard(db_engine, institute_id), _independent(db_engine, institute_id)
        assert shown["attendance"] == truth["attendance"], kind
        assert shown["collected"] == shown["by_month"] == truth["collected"] > 0, kind
        assert shown["billed"] == truth["billed"] > 0, kind
        assert shown["outstanding"] == truth["outstanding"] > 0, kind
        assert shown["funnel"] == truth["funnel"] and truth["funnel"][0] > 0, kind
        # Every demo batch has an active teacher; each teacher's hours are rounded to 0.1.
        assert shown["hours"] == pytest.approx(truth["hours"], abs=1) and truth["hours"] > 0, kind
        assert truth["funnel"][0] >= truth["funnel"][1] >= truth["funnel"][3]
        check_backup_and_drill(kind, db_engine, tmp_path)

    on_sqlite, on_postgres = scores["sqlite"], scores["postgres"]
    assert len(on_sqlite) > 100
    levels = {v[1] for v in on_sqlite.values()}
    assert {"LOW", "MEDIUM"} <= levels  # the demo has students to worry about
    assert on_sqlite == on_postgres
