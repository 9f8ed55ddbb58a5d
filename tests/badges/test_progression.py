"""Awards and progression: minis → skill, skills + capstone → program, never twice."""

import pytest
from sqlmodel import select

from app.badges import service
from app.badges.models import BadgeAward
from app.core.audit import AuditLog
from app.core.errors import Conflict, ValidationError
from app.notify.models import Notification
from tests.badges.world import build, catalog


def held(db, w, student):
    with db.scope(institute_id=w.institute.id) as s:
        rows = s.exec(
            select(BadgeAward.badge_id).where(
                BadgeAward.student_id == student.id, BadgeAward.revoked_at.is_(None)
            )
        ).all()
    names = {v: k for k, v in w.b.items()}
    return {names[r] for r in rows}


def give(db, w, student, *keys):
    a = w.teacher_actor
    created = []
    for key in keys:
        with db.scope(a) as s:
            created += [
                x.badge_id
                for x in service.award(s, actor=a, student_id=student.id, badge_id=w.b[key])
            ]
    return created


def test_last_required_mini_awards_the_skill_and_optional_ones_do_not_count(db):
    w = catalog(db, build(db, students=1))
    pupil = w.students[0]
    give(db, w, pupil, "M1", "M3")
    assert held(db, w, pupil) == {"M1", "M3"}
    give(db, w, pupil, "M2")
    assert held(db, w, pupil) == {"M1", "M2", "M3", "S1"}


def test_program_needs_every_skill_and_the_capstone(db):
    w = catalog(db, build(db, students=1))
    pupil = w.students[0]
    give(db, w, pupil, "M1", "M2", "M4")
    assert held(db, w, pupil) == {"M1", "M2", "M4", "S1", "S2"}  # no capstone → no program
    give(db, w, pupil, "C")
    assert held(db, w, pupil) == {"M1", "M2", "M4", "S1", "S2", "C", "P"}


def test_replays_award_nothing_twice(db):
    w = catalog(db, build(db, students=1))
    pupil = w.students[0]
    give(db, w, pupil, "M1", "M2", "M4", "C")
    with db.scope(w.teacher_actor) as s, pytest.raises(Conflict, match="already has"):
        service.award(s, actor=w.teacher_actor, student_id=pupil.id, badge_id=w.b["M1"])
    with db.scope(institute_id=w.institute.id) as s:
        again = service.grant_internal(
            s,
            institute_id=w.institute.id,
            pairs={(pupil.id, w.b[k]) for k in ("M1", "M2", "M4", "C", "S1", "P")},
            source="manual",
        )
        assert again == []
        total = s.exec(select(BadgeAward).where(BadgeAward.student_id == pupil.id)).all()
    assert len(total) == 7


def test_revoking_a_mini_flags_higher_badges_for_review(db):
    w = catalog(db, build(db, students=1))
    pupil = w.students[0]
    give(db, w, pupil, "M1", "M2", "M4", "C")
    with db.scope(institute_id=w.institute.id) as s:
        m1 = s.exec(select(BadgeAward).where(BadgeAward.badge_id == w.b["M1"])).one()
    with db.scope(w.admin_actor) as s, pytest.raises(ValidationError, match="why"):
        service.revoke(s, actor=w.admin_actor, award_id=m1.id, reason=" ")
    with db.scope(w.admin_actor) as s:
        service.revoke(s, actor=w.admin_actor, award_id=m1.id, reason="Copied work")
    assert held(db, w, pupil) == {"M2", "M4", "C", "S1", "S2", "P"}  # nothing else revoked
    with db.scope(institute_id=w.institute.id) as s:
        flagged = {
            a.badge_id for a in s.exec(select(BadgeAward).where(BadgeAward.needs_review.is_(True)))
        }
    assert flagged == {w.b["S1"], w.b["P"]}


def test_catalog_refuses_a_broken_tree(db):
    w = catalog(db, build(db, students=1))
    a = w.admin_actor
    with db.scope(a) as s, pytest.raises(ValidationError, match="belongs to a skill"):
        service.create_badge(s, actor=a, kind="mini", name="X", parent_id=w.b["P"])
    with db.scope(a) as s, pytest.raises(Conflict, match="capstone"):
        service.create_badge(s, actor=a, kind="capstone", name="Y", parent_id=w.b["P"])
    with db.scope(a) as s, pytest.raises(ValidationError, match="Only mini-badges"):
        service.create_badge(
            s,
            actor=a,
            kind="skill",
            name="Z",
            parent_id=w.b["P"],
            rule={"kind": "attendance_percent", "threshold": 80, "batch_id": w.batch_id},
        )
    with db.scope(a) as s:
        tree = [b.name for b in service.catalog(s, actor=a)]
    assert tree[:3] == ["Data Literacy", "Statistics", "Mean"]


def test_one_message_per_student_names_every_badge_earned_and_each_award_is_audited(db):
    w = catalog(db, build(db, students=1))
    pupil = w.students[0]
    give(db, w, pupil, "M1", "M4", "C")
    give(db, w, pupil, "M2")  # completes Statistics, and with it the program
    with db.scope(institute_id=w.institute.id) as s:
        texts = [
            n.text
            for n in s.exec(
                select(Notification)
                .where(Notification.recipient_user_id == w.student_users[0].id)
                .order_by(Notification.id)
            )
        ]
        audited = s.exec(select(AuditLog.target_id).where(AuditLog.action == "badges.award")).all()
        awards = s.exec(select(BadgeAward.id).where(BadgeAward.student_id == pupil.id)).all()
    assert texts[-1] == "You earned the Median, Statistics and Data Literacy badges."
    assert len(texts) == 4  # one per action, not one per badge
    assert sorted(audited) == sorted(str(a) for a in awards)
