"""Rewards and penalties: granting, balances, appeals, who may see and do what, referrals."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from app.core.audit import AuditLog
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.feedback import points
from app.feedback.models import PointsEntry
from tests.feedback.world import build, frozen_now


@pytest.fixture
def w(db):
    with frozen_now():
        yield build(db)


def _grant(db, actor, student_ids, type="reward", points_=10, **kw):
    kw.setdefault("category", "performance")
    kw.setdefault("reason", "Top score in the weekly test")
    with db.scope(actor) as s:
        return points.grant_points(
            s, actor=actor, student_ids=student_ids, type=type, points=points_, **kw
        )


def _balance(db, w, n):
    a = w.admin_actor
    with db.scope(a) as s:
        return points.balances(s, actor=a, student_ids=[w.students[n].id])[w.students[n].id]


def _count(db):
    with db.scope(system=True) as s:
        return s.exec(select(func.count()).select_from(PointsEntry)).one()


def test_grant_to_several_at_once_and_balances(db, w):
    ids = [st.id for st in w.students]
    assert _grant(db, w.teacher_actor, ids, points_=10) == 3
    _grant(db, w.admin_actor, [ids[0]], points_=20, category="attendance", reason="Full month")
    _grant(
        db,
        w.teacher_actor,
        [ids[0]],
        type="penalty",
        points_=5,
        category="behavior",
        reason="Phone in class",
    )
    a = w.admin_actor
    with db.scope(a) as s:
        assert points.balances(s, actor=a) == {ids[0]: 25, ids[1]: 10, ids[2]: 10}
        rows = points.list_points(s, actor=a, student_id=ids[0])
    assert [(r.type, r.signed_points) for r in rows][0] == ("penalty", -5)
    assert {r.given_by for r in rows} == {w.teacher.name, w.admin.name}
    with db.scope(system=True) as s:
        audited = s.exec(
            select(func.count())
            .select_from(AuditLog)
            .where(
                AuditLog.action.in_(["points.reward", "points.penalty"])  # type: ignore[attr-defined]
            )
        ).one()
    assert audited == 5  # one audit row per student and grant


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"points_": 0}, "1 to 500"),
        ({"points_": 501}, "1 to 500"),
        ({"reason": "   "}, "reason"),
        ({"category": "sports"}, "category"),
        ({"type": "bonus"}, "reward or penalty"),
    ],
)
def test_bad_grants_are_refused_and_nothing_written(db, w, kw, message):
    with pytest.raises(ValidationError, match=message):
        _grant(db, w.admin_actor, [w.students[0].id], **kw)
    assert _count(db) == 0


def test_teacher_grants_only_to_own_students_and_nothing_half_written(db, w):
    with db.scope(institute_id=w.institute.id) as s:
        from app.academics.models import Student

        outsider = Student(institute_id=w.institute.id, enrollment_no="X-1", name="Outsider")
        s.add(outsider)
        s.flush()
    with pytest.raises(PermissionDenied, match="your own batches"):
        _grant(db, w.teacher_actor, [w.students[0].id, outsider.id])
    assert _count(db) == 0
    _grant(db, w.admin_actor, [outsider.id])  # admins may
    with db.scope(w.teacher_actor) as s:
        eligible = points.students_to_grant(s, actor=w.teacher_actor)
    assert [sid for sid, _ in eligible] == sorted(st.id for st in w.students)


def test_a_student_sees_only_their_own_points_and_cannot_grant(db, w):
    _grant(db, w.admin_actor, [w.students[0].id], points_=15)
    _grant(db, w.admin_actor, [w.students[1].id], points_=40)
    me = w.student_actor(0)
    with db.scope(me) as s:
        mine = points.my_points(s, actor=me)
        assert mine.balance == 15 and [r.points for r in mine.history] == [15]
        assert points.balances(s, actor=me, student_ids=[w.students[1].id]) == {
            w.students[0].id: 15
        }
        assert [r.student_id for r in points.list_points(s, actor=me)] == [w.students[0].id]
        with pytest.raises(PermissionDenied):
            points.list_points(s, actor=me, student_id=w.students[1].id)
        with pytest.raises(PermissionDenied):
            points.grant_points(
                s,
                actor=me,
                student_ids=[w.students[0].id],
                type="reward",
                category="other",
                reason="me",
                points=100,
            )
        with pytest.raises(PermissionDenied):
            points.appeals_queue(s, actor=me)
    assert _balance(db, w, 0) == 15


def _penalty(db, w, n=0, pts=30):
    _grant(
        db,
        w.teacher_actor,
        [w.students[n].id],
        type="penalty",
        points_=pts,
        category="attendance",
        reason="Missed three classes",
    )
    with db.scope(system=True) as s:
        return s.exec(select(PointsEntry).order_by(PointsEntry.id.desc())).first().id  # type: ignore[union-attr]


def test_appeal_reversed_penalty_no_longer_counts(db, w):
    _grant(db, w.admin_actor, [w.students[0].id], points_=50)
    pid = _penalty(db, w)
    assert _balance(db, w, 0) == 20
    me, a = w.student_actor(0), w.admin_actor
    with db.scope(me) as s, pytest.raises(ValidationError, match="Explain"):
        points.appeal_penalty(s, actor=me, entry_id=pid, text="no")
    with db.scope(me) as s:
        row = points.appeal_penalty(
            s, actor=me, entry_id=pid, text="I was ill; the office has my medical note."
        )
        assert row.status == "appealed" and not row.can_appeal
        with pytest.raises(Conflict):
            points.appeal_penalty(s, actor=me, entry_id=pid, text="Please look again at it.")
    assert _balance(db, w, 0) == 20  # an appeal alone changes nothing
    with db.scope(w.teacher_actor) as s, pytest.raises(PermissionDenied):
        points.review_appeal(s, actor=w.teacher_actor, entry_id=pid, outcome="reversed", note="ok")
    with db.scope(a) as s:
        assert [r.id for r in points.appeals_queue(s, actor=a)] == [pid]
        with pytest.raises(ValidationError, match="note"):
            points.review_appeal(s, actor=a, entry_id=pid, outcome="reversed", note="")
    with db.scope(a) as s:
        row = points.review_appeal(
            s, actor=a, entry_id=pid, outcome="reversed", note="Medical note seen."
        )
        assert (row.status, row.appeal_outcome, row.signed_points) == ("resolved", "reversed", 0)
        assert points.appeals_queue(s, actor=a) == []
        with pytest.raises(Conflict):
            points.review_appeal(s, actor=a, entry_id=pid, outcome="upheld", note="changed mind")
    assert _balance(db, w, 0) == 50
    with db.scope(me) as s:
        mine = points.my_points(s, actor=me)
    assert (mine.balance, mine.rewards, mine.penalties) == (50, 50, 0)
    assert mine.history[0].resolution_note == "Medical note seen."


def test_upheld_penalty_still_counts(db, w):
    pid = _penalty(db, w, pts=10)
    me, a = w.student_actor(0), w.admin_actor
    with db.scope(me) as s:
        points.appeal_penalty(s, actor=me, entry_id=pid, text="It was not me talking, honestly.")
    with db.scope(a) as s:
        points.review_appeal(s, actor=a, entry_id=pid, outcome="upheld", note="Teacher confirms.")
    assert _balance(db, w, 0) == -10


def test_only_own_penalties_can_be_appealed(db, w):
    pid = _penalty(db, w, n=1)
    _grant(db, w.admin_actor, [w.students[0].id])
    me = w.student_actor(0)
    with db.scope(me) as s:
        with pytest.raises(NotFound):
            points.appeal_penalty(s, actor=me, entry_id=pid, text="Not my penalty but still.")
        reward = points.list_points(s, actor=me)[0]
        with pytest.raises(ValidationError, match="Only penalties"):
            points.appeal_penalty(s, actor=me, entry_id=reward.id, text="I want more points.")


def test_referral_reward_is_granted_once_per_inquiry(db, w):
    inst = w.institute.id
    with db.scope(institute_id=inst) as s:
        first = points.record_referral_reward_internal(
            s,
            institute_id=inst,
            referrer_student_id=w.students[0].id,
            inquiry_id=77,
            new_student_name="Ravi Kumar",
            created_by_user_id=w.admin.id,
        )
        assert first is not None
        assert (first.points, first.type, first.category) == (50, "reward", "other")
        assert first.reason == "Referral: Ravi Kumar enrolled"
    with db.scope(institute_id=inst) as s:
        again = points.record_referral_reward_internal(
            s,
            institute_id=inst,
            referrer_student_id=w.students[0].id,
            inquiry_id=77,
            new_student_name="Ravi Kumar",
            created_by_user_id=w.admin.id,
        )
        assert again is None
        other = points.record_referral_reward_internal(
            s,
            institute_id=inst,
            referrer_student_id=w.students[0].id,
            inquiry_id=78,
            new_student_name="Meena",
            created_by_user_id=None,
        )
        assert other is not None
    assert _count(db) == 2
    assert _balance(db, w, 0) == 100
    with db.scope(institute_id=inst) as s, pytest.raises(NotFound):
        points.record_referral_reward_internal(
            s,
            institute_id=inst,
            referrer_student_id=999999,
            inquiry_id=79,
            new_student_name="X",
            created_by_user_id=None,
        )


def test_teachers_see_points_of_their_own_students_only(db, w):
    ids = [st.id for st in w.students]
    _grant(db, w.admin_actor, ids, points_=7)
    other = w.other_teacher_actor  # teaches only the last student
    with db.scope(other) as s:
        assert {r.student_id for r in points.list_points(s, actor=other)} == {ids[-1]}
        assert points.balances(s, actor=other) == {ids[-1]: 7}
        assert points.balances(s, actor=other, student_ids=ids) == {ids[-1]: 7}
    with db.scope(w.teacher_actor) as s:
        assert len(points.list_points(s, actor=w.teacher_actor)) == 3


def test_a_counselor_gives_points_to_the_students_they_counsel_only(db, w):
    """Seed 002's counselor flow (issue 22): a counselor rewards or penalises their own
    students, and sees only their points; never another counselor's students."""
    from app.academics import service as academics
    from app.core.roles import Role
    from tests import factories as f

    mine = f.actor_for(f.user(db, w.institute, Role.COUNSELOR, name="Cara"))
    other = f.actor_for(f.user(db, w.institute, Role.COUNSELOR, name="Omar"))
    with db.scope(w.admin_actor) as s:
        academics.update_student(
            s, actor=w.admin_actor, student_id=w.students[0].id, counselor_user_id=mine.user_id
        )
        academics.update_student(
            s, actor=w.admin_actor, student_id=w.students[1].id, counselor_user_id=other.user_id
        )
    with db.scope(mine) as s:
        assert [sid for sid, _ in points.students_to_grant(s, actor=mine)] == [w.students[0].id]
    with pytest.raises(PermissionDenied, match="students you counsel"):
        _grant(db, mine, [w.students[0].id, w.students[1].id])
    assert _count(db) == 0
    assert _grant(db, mine, [w.students[0].id], type="penalty", points_=5) == 1
    _grant(db, w.admin_actor, [w.students[1].id])
    with db.scope(mine) as s:
        listed = points.list_points(s, actor=mine)
        assert {r.student_id for r in listed} == {w.students[0].id}
        assert points.balances(s, actor=mine) == {w.students[0].id: -5}
