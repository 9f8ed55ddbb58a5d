"""Inquiries: the status machine, duplicate detection, merging, and who may see what."""

from datetime import timedelta

import pytest
from sqlmodel import select

from app.core import clock
from app.core.audit import AuditLog
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.core.roles import Role
from app.crm import service as crm
from app.crm.models import FollowUp, Inquiry
from tests import factories as f
from tests.crm.world import NOW, TODAY, build


def _new(db, actor, **kw):
    kw.setdefault("student_name", "Asha Rao")
    kw.setdefault("phone", "9876543210")
    with clock.frozen(NOW), db.scope(actor) as s:
        return crm.create_inquiry(s, actor=actor, **kw).id


def _status(db, actor, inquiry_id, status, reason=None):
    with clock.frozen(NOW), db.scope(actor) as s:
        return crm.change_status(
            s, actor=actor, inquiry_id=inquiry_id, status=status, lost_reason=reason
        ).status


def test_status_machine_refuses_illegal_moves_with_a_message(db):
    w = build(db)
    iid = _new(db, w.counselor)
    with pytest.raises(ValidationError, match="Use Convert to enrol Asha Rao"):
        _status(db, w.counselor, iid, "enrolled")
    with pytest.raises(ValidationError, match="Schedule the follow-up"):
        _status(db, w.counselor, iid, "follow_up_scheduled")
    with pytest.raises(ValidationError, match="not a status"):
        _status(db, w.counselor, iid, "maybe")
    assert _status(db, w.counselor, iid, "contacted") == "contacted"
    with pytest.raises(ValidationError, match="cannot go from contacted to new"):
        _status(db, w.counselor, iid, "new")
    with pytest.raises(ValidationError, match="already contacted"):
        _status(db, w.counselor, iid, "contacted")
    # Lost needs a reason; nothing changes without one.
    with pytest.raises(ValidationError, match="Say why the inquiry was lost"):
        _status(db, w.counselor, iid, "lost", reason="  ")
    with db.scope(w.counselor) as s:
        assert s.get(Inquiry, iid).status == "contacted"
    assert _status(db, w.counselor, iid, "lost", reason="Fees too high") == "lost"
    with db.scope(w.counselor) as s:
        inq = s.get(Inquiry, iid)
        assert (inq.lost_reason, inq.lead_score) == ("Fees too high", 0)
        assert inq.score_reasons == ["Lost: Fees too high."]
    with pytest.raises(ValidationError, match="cannot go from lost to follow up scheduled"):
        _status(db, w.counselor, iid, "follow_up_scheduled")
    # Reopening clears the reason.
    assert _status(db, w.counselor, iid, "contacted") == "contacted"
    with db.scope(w.counselor) as s:
        assert s.get(Inquiry, iid).lost_reason is None
        actions = [
            a.detail["to"]
            for a in s.exec(select(AuditLog).where(AuditLog.action == "crm.status")).all()
        ]
    assert actions == ["contacted", "lost", "contacted"]


def test_scheduling_and_logging_follow_ups_move_the_status(db):
    w = build(db)
    iid = _new(db, w.counselor)
    with clock.frozen(NOW), db.scope(w.counselor) as s:
        crm.schedule_follow_up(s, actor=w.counselor, inquiry_id=iid, on=TODAY + timedelta(days=2))
        inq = s.get(Inquiry, iid)
        assert (inq.status, inq.next_follow_up_date) == (
            "follow_up_scheduled",
            TODAY + timedelta(days=2),
        )
        with pytest.raises(ValidationError, match="today or later"):
            crm.schedule_follow_up(
                s, actor=w.counselor, inquiry_id=iid, on=TODAY - timedelta(days=1)
            )
    # Two days later the planned call happens: it is completed, not duplicated.
    with clock.frozen(NOW + timedelta(days=2)), db.scope(w.counselor) as s:
        crm.log_follow_up(
            s,
            actor=w.counselor,
            inquiry_id=iid,
            follow_up_type="call",
            outcome="considering",
            notes="Wants the weekend batch",
        )
        rows = s.exec(select(FollowUp).where(FollowUp.inquiry_id == iid)).all()
        assert [(r.status, r.outcome) for r in rows] == [("completed", "considering")]
        inq = s.get(Inquiry, iid)
        assert (inq.status, inq.next_follow_up_date) == ("contacted", None)
        with pytest.raises(ValidationError, match="not a follow-up outcome"):
            crm.log_follow_up(
                s, actor=w.counselor, inquiry_id=iid, follow_up_type="call", outcome="great"
            )


def test_duplicates_match_on_the_number_however_written_and_on_email_in_any_case(db):
    w = build(db)
    first = _new(db, w.counselor, phone="+91 98765 43210", email="Asha.Rao@Example.com ")
    with db.scope(w.counselor) as s:
        assert s.get(Inquiry, first).phone == "+919876543210"  # stored in E.164
    with clock.frozen(NOW), db.scope(w.counselor) as s:
        for typed in ("9876543210", "098765 43210", "+91 98765-43210", "0091 98765 43210"):
            hits = crm.find_duplicates(s, actor=w.counselor, phone=typed)
            assert [(d.id, d.matched_on) for d in hits] == [(first, "phone")], typed
        assert crm.find_duplicates(s, actor=w.counselor, phone="not a phone") == []
        hits = crm.find_duplicates(s, actor=w.counselor, email="  asha.rao@EXAMPLE.com")
        assert [(d.id, d.matched_on) for d in hits] == [(first, "email")]
        assert crm.find_duplicates(s, actor=w.counselor, phone="9876543211") == []
    with pytest.raises(Conflict, match=rf"inquiry #{first} \(Asha Rao, same phone\)"):
        _new(db, w.counselor, student_name="Asha R", phone="098765-43210")
    with pytest.raises(Conflict, match="same email"):
        _new(db, w.counselor, phone=None, email="ASHA.RAO@example.com")
    with db.scope(w.counselor) as s:
        assert len(s.exec(select(Inquiry)).all()) == 1
    second = _new(db, w.counselor, student_name="Asha R", phone="98765 43210", allow_duplicate=True)
    with db.scope(w.counselor) as s:
        pairs = crm.duplicate_pairs(s, actor=w.counselor)
    assert [(a.id, b.id, a.matched_on) for a, b in pairs] == [(first, second, "phone")]


def test_the_same_last_ten_digits_in_another_country_are_another_person(db):
    w = build(db)
    _new(db, w.counselor, phone="+91 98123 45678")
    nepal = _new(db, w.counselor, student_name="Other", phone="+977 981-2345678")
    with clock.frozen(NOW), db.scope(w.counselor) as s:
        assert s.get(Inquiry, nepal).phone == "+9779812345678"
        assert crm.find_duplicates(s, actor=w.counselor, phone="+977 9812345678")[0].id == nepal
        assert len(crm.find_duplicates(s, actor=w.counselor, phone="98123 45678")) == 1
        assert crm.duplicate_pairs(s, actor=w.counselor) == []


def test_merge_keeps_the_older_moves_follow_ups_and_unions_tags(db):
    w = build(db)
    older = _new(db, w.counselor, tags="weekend, Scholarship", interested_subjects=[w.physics])
    with clock.frozen(NOW + timedelta(hours=1)), db.scope(w.counselor) as s:
        newer = crm.create_inquiry(
            s,
            actor=w.counselor,
            student_name="Asha Rao",
            phone="+91 98765 43210",
            email="asha@example.com",
            tags=["scholarship", "sibling"],
            interested_subjects=[w.chemistry],
            priority="high",
            allow_duplicate=True,
        ).id
        crm.log_follow_up(
            s, actor=w.counselor, inquiry_id=newer, follow_up_type="whatsapp", outcome="interested"
        )
    with clock.frozen(NOW + timedelta(hours=2)), db.scope(w.counselor) as s:
        # The order the counselor picks them in does not matter: the older one stays.
        kept = crm.merge_inquiries(s, actor=w.counselor, inquiry_id=newer, other_id=older)
        assert kept.id == older
        assert kept.tags == ["weekend", "scholarship", "sibling"]
        assert kept.interested_subjects == sorted([w.physics, w.chemistry])
        assert (kept.email, kept.priority) == ("asha@example.com", "high")
        assert "1 follow-up answered: +10" in kept.score_reasons
    with db.scope(w.counselor) as s:
        assert s.get(Inquiry, newer) is None
        assert [fu.inquiry_id for fu in s.exec(select(FollowUp)).all()] == [older]
        entry = s.exec(select(AuditLog).where(AuditLog.action == "crm.merge")).one()
        assert entry.target_id == str(older) and entry.detail["removed_id"] == newer
        with pytest.raises(NotFound):
            crm.merge_inquiries(s, actor=w.counselor, inquiry_id=older, other_id=newer)


def test_bad_input_is_refused_with_a_message(db):
    w = build(db)
    with pytest.raises(ValidationError, match="phone number or an email"):
        _new(db, w.counselor, phone=None)
    with pytest.raises(ValidationError, match="Enter a phone number like \\+91 98765 43210"):
        _new(db, w.counselor, phone="12ab")
    with pytest.raises(ValidationError, match="not a source"):
        _new(db, w.counselor, source="billboard")
    with pytest.raises(ValidationError, match="only when the source is referral"):
        _new(db, w.counselor, source="website", referrer_student_id=w.referrer)
    with db.scope(w.counselor) as s:
        assert s.exec(select(Inquiry)).all() == []


def test_other_institutes_and_other_roles_cannot_see_or_change_inquiries(db):
    w = build(db)
    iid = _new(db, w.counselor)
    other = f.institute(db, name="Elsewhere")
    stranger = f.actor_for(f.user(db, other, Role.COUNSELOR))
    teacher = f.actor_for(f.user(db, w.institute, Role.TEACHER))
    with db.scope(stranger) as s:
        assert crm.list_inquiries(s, actor=stranger) == []
        assert crm.find_duplicates(s, actor=stranger, phone="9876543210") == []
        with pytest.raises(NotFound):
            crm.get_inquiry(s, actor=stranger, inquiry_id=iid)
        with pytest.raises(NotFound):
            crm.change_status(s, actor=stranger, inquiry_id=iid, status="contacted")
        with pytest.raises(NotFound):
            crm.update_inquiry(s, actor=stranger, inquiry_id=iid, priority="high")
    with db.scope(teacher) as s, pytest.raises(PermissionDenied):
        crm.list_inquiries(s, actor=teacher)
    # The colleague in the same institute sees the pipeline and can pick the lead up.
    with db.scope(w.other_counselor) as s:
        assert [r.id for r in crm.list_inquiries(s, actor=w.other_counselor)] == [iid]
    if db.kind == "postgres":
        # Row-level security: the other institute's context sees no inquiry rows at all.
        with db.scope(stranger) as s:
            assert s.exec(select(Inquiry)).all() == []


def test_details_can_be_corrected_and_the_lead_reassigned(db):
    w = build(db)
    iid = _new(db, w.counselor, email="asha@example.com")
    teacher = f.user(db, w.institute, Role.TEACHER)
    with clock.frozen(NOW), db.scope(w.counselor) as s:
        inq = crm.update_inquiry(
            s,
            actor=w.counselor,
            inquiry_id=iid,
            phone="+91 98765 00000",
            priority="high",
            counselor_user_id=w.other_counselor.user_id,
            tags="Sibling; weekend",
        )
        assert (inq.phone, inq.priority) == ("+919876500000", "high")
        assert inq.tags == ["sibling", "weekend"]
        assert "High priority: +10" in inq.score_reasons  # rescored on the change
        with pytest.raises(ValidationError, match="counselor of this institute"):
            crm.update_inquiry(s, actor=w.counselor, inquiry_id=iid, counselor_user_id=teacher.id)
        with pytest.raises(ValidationError, match="phone number or an email"):
            crm.update_inquiry(s, actor=w.counselor, inquiry_id=iid, phone="", email=" ")
    with db.scope(w.other_counselor) as s:
        mine = crm.list_inquiries(
            s, actor=w.other_counselor, counselor_user_id=w.other_counselor.user_id
        )
        assert [r.id for r in mine] == [iid]
        assert [
            r.id for r in crm.list_inquiries(s, actor=w.other_counselor, search="98765 00000")
        ] == [iid]


def test_a_contact_before_the_planned_one_keeps_the_plan(db):
    w = build(db)
    iid = _new(db, w.counselor)
    with clock.frozen(NOW), db.scope(w.counselor) as s:
        crm.schedule_follow_up(
            s, actor=w.counselor, inquiry_id=iid, on=TODAY + timedelta(days=5), notes="Fees"
        )
        # They call in today, before the planned call: logged, and the plan stays.
        crm.log_follow_up(
            s, actor=w.counselor, inquiry_id=iid, follow_up_type="call", outcome="considering"
        )
        inq = s.get(Inquiry, iid)
        assert (inq.status, inq.next_follow_up_date) == (
            "follow_up_scheduled",
            TODAY + timedelta(days=5),
        )
        statuses = sorted(f.status for f in s.exec(select(FollowUp)).all())
        assert statuses == ["completed", "pending"]
        with pytest.raises(ValidationError, match="cannot be in the future"):
            crm.log_follow_up(
                s,
                actor=w.counselor,
                inquiry_id=iid,
                follow_up_type="call",
                outcome="interested",
                on=TODAY + timedelta(days=1),
            )


def test_new_inquiries_go_to_the_least_loaded_counselor_when_the_institute_asks(db):
    """Round-robin by open load (issue 22): off by default; on, an inquiry nobody took goes to
    the active counselor with the fewest open inquiries; a counselor's own stays theirs."""
    from app.crm import service as crm_service
    from app.identity.models import UserStatus

    inst = f.institute(db)
    admin = f.actor_for(f.user(db, inst, Role.ADMIN))
    busy = f.actor_for(f.user(db, inst, Role.COUNSELOR, name="Busy"))
    idle = f.actor_for(f.user(db, inst, Role.COUNSELOR, name="Idle"))
    f.user(db, inst, Role.COUNSELOR, name="Gone", status=UserStatus.DISABLED.value)

    def new(actor, n):
        with db.scope(actor) as s:
            return crm_service.create_inquiry(
                s, actor=actor, student_name=f"Lead {n}", phone=f"+91 98111 {11100 + n}"
            ).counselor_user_id

    assert new(admin, 0) is None  # off by default
    assert new(busy, 1) == busy.user_id and new(busy, 2) == busy.user_id
    with db.scope(idle) as s, pytest.raises(PermissionDenied):
        crm_service.set_auto_assign(s, actor=idle, on=True)
    with db.scope(admin) as s:
        assert crm_service.set_auto_assign(s, actor=admin, on=True) is True
    assert [new(admin, n) for n in (3, 4, 5)] == [idle.user_id, idle.user_id, busy.user_id]
    assert new(busy, 6) == busy.user_id  # a counselor's own inquiry stays theirs
