"""The demo's feedback and points look like a real year, and keep the anonymity rule."""

from sqlmodel import func, select

from app.core.tenancy import Actor
from app.demo.seed import seed_demo
from app.feedback import analytics, points
from app.feedback.models import Feedback, PointsEntry
from app.inbox.models import PendingAction


def test_small_demo_has_a_year_of_feedback_and_points(db):
    result = seed_demo(size="small", engine=db.engine)
    first = result.institute_ids[0]
    with db.scope(system=True) as s:
        rows = s.exec(select(Feedback).where(Feedback.institute_id == first)).all()
        assert len(rows) > 100
        assert {r.sentiment for r in rows} == {"positive", "neutral", "negative"}
        anonymous = [r for r in rows if r.anonymous]
        assert 0.1 < len(anonymous) / len(rows) < 0.4
        assert all(r.student_id is None for r in anonymous)
        assert all(r.student_id is not None for r in rows if not r.anonymous)
        assert {r.status for r in rows} == {"pending", "reviewed", "resolved"}
        span = max(r.created_at for r in rows) - min(r.created_at for r in rows)
        assert span.days > 300
        entries = s.exec(select(PointsEntry).where(PointsEntry.institute_id == first)).all()
        assert {e.type for e in entries} == {"reward", "penalty"}
        appeals = [e for e in entries if e.appeal_text]
        assert appeals and all(e.type == "penalty" for e in appeals)
        assert any(e.status == "resolved" for e in appeals)
        open_actions = s.exec(
            select(func.count())
            .select_from(PendingAction)
            .where(PendingAction.type == "negative_feedback", PendingAction.status == "open")
        ).one()
        assert open_actions > 0
    admin = Actor.system(first, source="test")
    with db.scope(admin) as s:
        assert len(analytics.by_teacher(s, actor=admin)) >= 2
        assert analytics.themes_by_sentiment(s, actor=admin)["negative"]
        assert points.balances(s, actor=admin)
