"""Access requests: public, rate-limited, honeypot-guarded; admins of that institute decide."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from app.access import service as access
from app.access.models import AccessRequest
from app.core.audit import AuditLog
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.core.roles import Role
from app.identity.models import PasswordLink, User, UserStatus
from tests import factories as f


@pytest.fixture
def world(db):
    alpha = f.institute(db, name="Alpha Academy")
    beta = f.institute(db, name="Beta Institute")
    return {
        "alpha": alpha,
        "beta": beta,
        "admin": f.actor_for(f.user(db, alpha, Role.ADMIN)),
        "other_admin": f.actor_for(f.user(db, beta, Role.ADMIN)),
        "teacher": f.actor_for(f.user(db, alpha, Role.TEACHER)),
    }


def submit(db, inst, *, client="203.0.113.7", honeypot="", **overrides):
    fields = {
        "name": "Priya Shah",
        "email": "priya@example.com",
        "phone": None,
        "role": "student",
        "message": "I joined the evening batch.",
    } | overrides
    with db.scope(system=True) as s:
        return access.submit_access_request(
            s,
            institute_id=inst.id if inst else None,
            honeypot=honeypot,
            client=client,
            source="test",
            **fields,
        )


def stored(db) -> list[AccessRequest]:
    with db.scope(system=True) as s:
        return list(s.exec(select(AccessRequest).order_by(AccessRequest.id)))


def test_client_address_trusts_only_the_configured_proxy_hops():
    # 0 hops (the default): the header is the client's to write, so only the peer counts.
    assert access.client_address({"X-Forwarded-For": "198.51.100.4"}, "10.0.0.2", hops=0) == (
        "10.0.0.2"
    )
    # 1 hop (Render): the address our proxy appended, never what the client put before it.
    forwarded = {"X-Forwarded-For": "6.6.6.6, 198.51.100.4"}
    assert access.client_address(forwarded, "10.0.0.2", hops=1) == "198.51.100.4"
    assert access.client_address(forwarded, "10.0.0.2", hops=2) == "6.6.6.6"
    assert (
        access.client_address({"x-forwarded-for": " 2001:db8::1 "}, None, hops=1) == "2001:db8::1"
    )
    # Fewer hops than configured: the header cannot be trusted; fall back to the peer.
    assert access.client_address({"X-Forwarded-For": "1.2.3.4"}, "10.0.0.2", hops=2) == "10.0.0.2"
    assert access.client_address({}, "192.0.2.9", hops=1) == "192.0.2.9"
    assert access.client_address(None, None) == "unknown"


@pytest.mark.parametrize("hops", [0, 1])
def test_rotating_x_forwarded_for_does_not_bypass_the_limit(db, world, monkeypatch, hops):
    from app.core.config import get_settings

    monkeypatch.setattr(get_settings(), "TRUSTED_PROXY_HOPS", hops)
    results = []
    for n in range(7):
        # The attacker writes a new first hop each time; our proxy (if any) appends the peer.
        header = f"198.51.100.{n}" + (", 203.0.113.50" if hops else "")
        client = access.client_address({"X-Forwarded-For": header}, "203.0.113.50")
        results.append(submit(db, world["alpha"], email=f"p{n}@example.com", client=client))
    assert [bool(r.token) for r in results] == [True] * 5 + [False] * 2
    assert results[-1].error == access.TOO_MANY


def test_five_requests_a_minute_then_the_sixth_is_refused(db, world):
    for n in range(5):
        result = submit(db, world["alpha"], email=f"p{n}@example.com")
        assert result.token and not result.error
    sixth = submit(db, world["alpha"], email="p6@example.com")
    assert sixth.token is None and sixth.error == access.TOO_MANY
    assert len(stored(db)) == 5
    # Another address is not affected.
    assert submit(db, world["alpha"], email="p7@example.com", client="198.51.100.1").token


def test_refused_attempts_count_towards_the_limit(db, world):
    for _ in range(5):
        assert submit(db, world["alpha"], name="").error == "Tell us your name."
    assert submit(db, world["alpha"]).error == access.TOO_MANY
    assert stored(db) == []


def test_honeypot_answers_politely_and_stores_nothing(db, world):
    result = submit(db, world["alpha"], honeypot="http://spam.example")
    assert result.token and not result.error
    assert stored(db) == []
    with db.scope(system=True) as s:
        assert access.access_request_status(s, token=result.token) is None


def test_duplicate_pending_request_is_refused_politely(db, world):
    assert submit(db, world["alpha"], phone="+91 98765 43210").token
    again = submit(db, world["alpha"], email="PRIYA@example.com", name="Priya S")
    assert again.error and "already asked Alpha Academy" in again.error
    by_phone = submit(db, world["alpha"], email="other@example.com", phone="9876543210")
    assert by_phone.error and "phone number" in by_phone.error
    # The same person may ask another institute.
    assert submit(db, world["beta"]).token
    assert len(stored(db)) == 2


def test_validation_messages(db, world):
    assert submit(db, None).error == "Choose the institute you want to join."
    assert "email address or a phone" in submit(db, world["alpha"], email="").error
    assert "student or as a teacher" in submit(db, world["alpha"], role="admin").error


def test_approval_invites_exactly_one_user_once(db, world):
    token = submit(db, world["alpha"], role="teacher").token
    (row,) = stored(db)
    admin = world["admin"]
    with db.scope(admin) as s:
        approval = access.approve_access_request(s, actor=admin, request_id=row.id)
        assert approval.token
    with pytest.raises(Conflict, match="already approved"), db.scope(admin) as s:
        access.approve_access_request(s, actor=admin, request_id=row.id)
    with db.scope(system=True) as s:
        users = list(s.exec(select(User).where(User.email == "priya@example.com")))
        assert len(users) == 1
        invited = users[0]
        assert (invited.role, invited.status, invited.institute_id) == (
            Role.TEACHER.value,
            UserStatus.INVITED.value,
            world["alpha"].id,
        )
        link = s.exec(select(PasswordLink).where(PasswordLink.user_id == invited.id)).one()
        assert link.purpose == "invitation"
        actions = set(s.exec(select(AuditLog.action)))
        assert {"access_request.submit", "access_request.approve", "user.invite"} <= actions
        view = access.access_request_status(s, token=token)
    assert view.status == "approved" and view.institute == "Alpha Academy"


def test_rejection_needs_a_reason_the_requester_sees(db, world):
    token = submit(db, world["alpha"]).token
    (row,) = stored(db)
    admin = world["admin"]
    with pytest.raises(ValidationError, match="Give a reason"), db.scope(admin) as s:
        access.reject_access_request(s, actor=admin, request_id=row.id, reason="  ")
    with db.scope(admin) as s:
        access.reject_access_request(
            s, actor=admin, request_id=row.id, reason="We only admit enrolled students."
        )
    with db.scope(system=True) as s:
        view = access.access_request_status(s, token=token)
        assert (
            s.exec(select(func.count()).select_from(User).where(User.role == "student")).one() == 0
        )
    assert view.status == "rejected" and view.reason == "We only admit enrolled students."
    # Decided: a new request with the same contact is welcome again.
    assert submit(db, world["alpha"]).token


def test_another_institutes_admin_cannot_see_or_decide(db, world):
    submit(db, world["alpha"])
    (row,) = stored(db)
    other = world["other_admin"]
    with db.scope(other) as s:
        assert access.list_access_requests(s, actor=other) == []
        assert access.pending_counts(s, actor=other) == {"access": 0, "password": 0}
    for decide, kwargs in (
        (access.approve_access_request, {}),
        (access.reject_access_request, {"reason": "no"}),
    ):
        with pytest.raises(NotFound), db.scope(other) as s:
            decide(s, actor=other, request_id=row.id, **kwargs)
    admin = world["admin"]
    with db.scope(admin) as s:
        assert [r.id for r in access.list_access_requests(s, actor=admin)] == [row.id]
        assert access.pending_counts(s, actor=admin)["access"] == 1


def test_a_teacher_cannot_decide(db, world):
    submit(db, world["alpha"])
    (row,) = stored(db)
    teacher = world["teacher"]
    with pytest.raises(PermissionDenied), db.scope(teacher) as s:
        access.approve_access_request(s, actor=teacher, request_id=row.id)
    assert stored(db)[0].status == "pending"


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
def test_row_level_security_hides_requests_of_other_institutes(db, world):
    submit(db, world["alpha"])
    with db.scope(world["other_admin"]) as s:
        assert s.exec(select(func.count()).select_from(AccessRequest)).one() == 0
    with db.scope(world["admin"]) as s:
        assert s.exec(select(func.count()).select_from(AccessRequest)).one() == 1


def test_a_phone_is_read_in_the_chosen_institutes_region(db, world):
    """A UK institute's applicant writes their national number; it is stored in E.164 and a
    second request with the same number written internationally is the same person."""
    london = f.institute(db, name="Camden Tutors", timezone="Europe/London", currency="GBP")
    result = submit(db, london, email="amy@example.co.uk", phone="07400 123456")
    assert result.token, result.error
    [row] = [r for r in stored(db) if r.institute_id == london.id]
    assert row.phone == "+447400123456"
    again = submit(db, london, email="amy2@example.co.uk", phone="+44 7400 123456")
    assert again.error and "phone number" in again.error
    # Another number that only ends the same way is someone else.
    other = submit(db, london, email="raj@example.com", phone="+91 74001 23456")
    assert other.token, other.error
