"""Requests and decisions: who may do what, the inbox, the notification, the export."""

import csv
import io

import pytest
from sqlmodel import select

from app.badges import service
from app.badges.models import BadgeAward
from app.core.audit import AuditLog
from app.core.errors import Conflict, PermissionDenied, ValidationError
from app.inbox.models import PendingAction
from app.notify.models import Notification
from tests.badges.world import build, catalog


def ask(db, w, n, key, text="I did it"):
    a = w.student_actor(n)
    with db.scope(a) as s:
        return service.request_badge(s, actor=a, badge_id=w.b[key], evidence_text=text).id


def test_request_then_approve_awards_closes_inbox_and_notifies(db):
    w = catalog(db, build(db, students=1))
    rid = ask(db, w, 0, "M1")
    with db.scope(institute_id=w.institute.id) as s:
        action = s.exec(select(PendingAction)).one()
        assert (action.type, action.status, action.batch_id) == (
            "badge_request",
            "open",
            w.batch_id,
        )
    t = w.teacher_actor
    with db.scope(t) as s:
        assert [r.id for r in service.list_requests(s, actor=t)] == [rid]
        service.decide(s, actor=t, request_id=rid, approve=True)
    with db.scope(institute_id=w.institute.id) as s:
        assert s.exec(select(PendingAction)).one().status == "done"
        award = s.exec(select(BadgeAward)).one()
        assert (award.badge_id, award.source, award.request_id) == (w.b["M1"], "request", rid)
        note = s.exec(select(Notification).where(Notification.channel == "in_app")).one()
        assert note.recipient_user_id == w.student_users[0].id and "Mean" in note.text
        actions = {r.action for r in s.exec(select(AuditLog))}
    assert {"badges.request", "badges.request_approved", "badges.award"} <= actions
    with db.scope(t) as s, pytest.raises(Conflict, match="already approved"):
        service.decide(s, actor=t, request_id=rid, approve=False, reason="no")


def test_reject_needs_a_reason_and_tells_the_student(db):
    w = catalog(db, build(db, students=1))
    rid = ask(db, w, 0, "M1")
    t = w.teacher_actor
    with db.scope(t) as s, pytest.raises(ValidationError, match="why"):
        service.decide(s, actor=t, request_id=rid, approve=False)
    with db.scope(t) as s:
        service.decide(s, actor=t, request_id=rid, approve=False, reason="Show your working")
    with db.scope(institute_id=w.institute.id) as s:
        assert s.exec(select(BadgeAward)).all() == []
        note = s.exec(select(Notification)).one()
        assert "Show your working" in note.text
    ask(db, w, 0, "M1")  # may ask again once the first was decided


def test_student_cannot_request_twice_approve_or_see_others(db):
    w = catalog(db, build(db, students=2))
    mine = ask(db, w, 0, "M1")
    ask(db, w, 1, "M2")
    with pytest.raises(Conflict, match="still waiting"):
        ask(db, w, 0, "M1")
    a = w.student_actor(0)
    with db.scope(a) as s, pytest.raises(PermissionDenied):
        service.decide(s, actor=a, request_id=mine, approve=True)
    with db.scope(a) as s:
        assert [r.id for r in service.list_requests(s, actor=a, status=None)] == [mine]
        wall = service.wall(s, actor=a)
        assert [r.id for r in wall.requests] == [mine]
    with db.scope(a) as s, pytest.raises(ValidationError, match="beneath"):
        service.request_badge(s, actor=a, badge_id=w.b["S1"], evidence_text="x")


def test_the_database_keeps_one_pending_request_even_when_two_race(db):
    # Two tabs that both passed the service's check still cannot leave two pending requests.
    from sqlalchemy.exc import IntegrityError

    from app.badges.models import BadgeRequest

    w = catalog(db, build(db, students=1))
    ask(db, w, 0, "M1")
    twin = {
        "institute_id": w.institute.id,
        "student_id": w.students[0].id,
        "badge_id": w.b["M1"],
        "evidence_text": "again",
    }
    with pytest.raises(IntegrityError), db.scope(institute_id=w.institute.id) as s:
        s.add(BadgeRequest(**twin))
        s.flush()
    with db.scope(institute_id=w.institute.id) as s:  # a decided one may sit beside it
        s.add(BadgeRequest(**twin, status="rejected", reason="no"))
        s.flush()


def test_no_request_for_a_badge_already_held_and_teacher_scope(db):
    w = catalog(db, build(db, students=1))
    with db.scope(w.admin_actor) as s:
        service.award(s, actor=w.admin_actor, student_id=w.students[0].id, badge_id=w.b["M1"])
    with pytest.raises(Conflict, match="already have"):
        ask(db, w, 0, "M1")
    rid = ask(db, w, 0, "M2")
    from tests import factories as f

    o = f.actor_for(w.other_teacher)
    with db.scope(o) as s:
        assert service.list_requests(s, actor=o) == []
    with db.scope(o) as s, pytest.raises(PermissionDenied, match="teachers"):
        service.decide(s, actor=o, request_id=rid, approve=True)


def test_wall_shows_progress(db):
    w = catalog(db, build(db, students=1))
    with db.scope(w.admin_actor) as s:
        service.award(s, actor=w.admin_actor, student_id=w.students[0].id, badge_id=w.b["M1"])
    a = w.student_actor(0)
    with db.scope(a) as s:
        wall = service.wall(s, actor=a)
    progress = {p.name: (p.earned, p.needed) for p in wall.progress}
    assert progress == {"Data Literacy": (0, 3), "Statistics": (1, 2), "Charts": (0, 1)}
    assert [e.name for e in wall.earned] == ["Mean"]
    assert w.b["M1"] not in {b.id for b in wall.requestable}


def test_export_redacts_personal_data_unless_asked_and_audits(db):
    w = catalog(db, build(db, students=1))
    a = w.admin_actor
    with db.scope(a) as s:
        service.award(s, actor=a, student_id=w.students[0].id, badge_id=w.b["M1"])
    with db.scope(a) as s:
        rows = list(csv.DictReader(io.StringIO(service.export_awards_csv(s, actor=a))))
    assert rows[0]["name"] == rows[0]["email"] == rows[0]["phone"] == "[redacted]"
    assert "Pupil" not in str(rows) and "@" not in str(rows)
    with db.scope(a) as s:
        full = list(
            csv.DictReader(
                io.StringIO(service.export_awards_csv(s, actor=a, include_personal=True))
            )
        )
    assert full[0]["name"] == "Pupil 0" and full[0]["email"].endswith("@example.com")
    with db.scope(institute_id=w.institute.id) as s:
        assert (
            s.exec(select(AuditLog).where(AuditLog.action == "badges.export_personal"))
            .one()
            .detail["include_personal"]
            is True
        )
    t = w.teacher_actor
    with db.scope(t) as s, pytest.raises(PermissionDenied):
        service.export_awards_csv(s, actor=t)
