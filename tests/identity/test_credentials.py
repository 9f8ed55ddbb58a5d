"""Passwords: one answer for wrong and unknown, a sane policy, argon2id, bounded lockouts, links."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from app.core import clock
from app.core.audit import AuditLog
from app.core.errors import ValidationError
from app.core.roles import Role
from app.identity import credentials
from app.identity.credentials import WRONG_CREDENTIALS
from app.identity.models import User
from tests import factories as f

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
GOOD = "correct horse battery"


@pytest.fixture
def people(db):
    inst = f.institute(db)
    admin = f.user(db, inst, Role.ADMIN, email="admin@alpha.example")
    teacher = f.user(
        db, inst, Role.TEACHER, email="tara@alpha.example", phone="98765 43210", password=GOOD
    )
    return inst, f.actor_for(admin), teacher


def sign_in(db, identifier, password):
    with db.scope(system=True) as s:
        return credentials.sign_in_with_password(
            s, identifier=identifier, password=password, source="test"
        )


def test_right_password_by_email_or_phone(db, people):
    _, _, teacher = people
    assert [u.id for u in sign_in(db, "Tara@Alpha.example", GOOD).users] == [teacher.id]
    assert [u.id for u in sign_in(db, "+91 98765 43210", GOOD).users] == [teacher.id]


def test_wrong_password_and_unknown_user_get_the_identical_message(db, people):
    wrong = sign_in(db, "tara@alpha.example", "not the password")
    unknown = sign_in(db, "ghost@alpha.example", "not the password")
    assert wrong.error == unknown.error == WRONG_CREDENTIALS
    assert not wrong.users and not unknown.users


def test_hash_is_argon2id(db, people):
    _, _, teacher = people
    with db.scope(system=True) as s:
        stored = s.get(User, teacher.id).password_hash
    assert stored.startswith("$argon2id$") and GOOD not in stored


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("short", "at least 8"),
        ("x" * 129, "at most 128"),
        ("password1", "most common"),
        ("Iloveyou", "most common"),
        ("qwertyuiop", "most common"),
    ],
)
def test_policy_refuses_short_long_and_common(password, fragment):
    with pytest.raises(ValidationError, match=fragment):
        credentials.check_password_policy(password)


def test_policy_has_no_composition_rules():
    credentials.check_password_policy("all lowercase words here")
    assert len(credentials.common_passwords()) == 1000


def test_lockout_is_bounded_and_then_lifts(db, people):
    with clock.frozen(T0):
        for _ in range(5):
            assert sign_in(db, "tara@alpha.example", "wrong guess").error == WRONG_CREDENTIALS
        locked = sign_in(db, "tara@alpha.example", GOOD)
        assert (
            locked.error == "Too many failed sign-ins. Try again in 1 minute." and not locked.users
        )
        # The same account typed as its phone is locked too (per account, not only per identifier).
        assert "Too many failed sign-ins" in sign_in(db, "9876543210", GOOD).error
        clock.advance(timedelta(minutes=1, seconds=1))
        assert sign_in(db, "tara@alpha.example", GOOD).users
        # A stranger hammering the account: the wait grows but never beyond 15 minutes.
        for _ in range(12):
            sign_in(db, "tara@alpha.example", "wrong")
            clock.advance(timedelta(minutes=20))
        for _ in range(10):
            sign_in(db, "tara@alpha.example", "wrong")
            clock.advance(timedelta(seconds=1))
        error = sign_in(db, "tara@alpha.example", GOOD).error
        assert error and "Try again in" in error
        minutes = int(re.search(r"Try again in (\d+) minute", error).group(1))
        assert minutes <= 15
        clock.advance(timedelta(minutes=15, seconds=1))
        assert sign_in(db, "tara@alpha.example", GOOD).users
    with db.scope(system=True) as s:
        actions = {e.action for e in s.exec(select(AuditLog))}
    assert {"auth.locked", "auth.sign_in_refused"} <= actions


def test_invitation_link_sets_password_once(db, people):
    inst, admin, _ = people
    with db.scope(admin) as s:
        from app.identity import service as identity

        new = identity.invite_user(
            s, actor=admin, name="Nia", email="nia@alpha.example", role="counselor"
        )
        token = credentials.create_password_link(
            s, actor=admin, user_id=new.id, purpose="invitation"
        )
    assert credentials.password_link_url(token).endswith(f"/?set_password={token}")
    with pytest.raises(ValidationError, match="most common"), db.scope(system=True) as s:
        credentials.set_password_with_link(
            s, token=token, password="password", confirm="password", source="test"
        )
    with db.scope(system=True) as s:
        uid = credentials.set_password_with_link(
            s, token=token, password=GOOD, confirm=GOOD, source="test"
        )
    assert uid == new.id
    assert sign_in(db, "nia@alpha.example", GOOD).users
    with pytest.raises(ValidationError, match="already been used"), db.scope(system=True) as s:
        credentials.set_password_with_link(
            s, token=token, password=GOOD + "!", confirm=GOOD + "!", source="test"
        )


def test_link_expires_and_only_admins_make_links(db, people):
    inst, admin, teacher = people
    with clock.frozen(T0):
        with db.scope(admin) as s:
            token = credentials.create_password_link(s, actor=admin, user_id=teacher.id)
        clock.advance(timedelta(hours=72, seconds=1))
        with db.scope(system=True) as s:
            assert credentials.describe_link(s, token=token) == (None, credentials.LINK_EXPIRED)
    student = f.actor_for(f.user(db, inst, Role.STUDENT))
    from app.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied), db.scope(student) as s:
        credentials.create_password_link(s, actor=student, user_id=teacher.id)


def test_change_password_needs_the_current_one(db, people):
    _, _, teacher = people
    actor = f.actor_for(teacher)
    with (
        pytest.raises(ValidationError, match="current password is not right"),
        db.scope(actor) as s,
    ):
        credentials.change_password(
            s, actor=actor, current="nope", new="new long phrase", confirm="new long phrase"
        )
    with db.scope(actor) as s:
        credentials.change_password(
            s, actor=actor, current=GOOD, new="new long phrase", confirm="new long phrase"
        )
    assert sign_in(db, "tara@alpha.example", "new long phrase").users


def test_no_password_or_hash_in_the_audit_log(db, people):
    sign_in(db, "tara@alpha.example", "a wrong secret phrase")
    sign_in(db, "tara@alpha.example", GOOD)
    with db.scope(system=True) as s:
        blob = " ".join(f"{e.target_id} {e.detail}" for e in s.exec(select(AuditLog)))
    assert GOOD not in blob and "a wrong secret phrase" not in blob and "$argon2" not in blob


def test_a_password_link_stops_working_when_the_subscription_has_ended(db, people):
    from app.identity import service as identity
    from app.identity.models import Institute

    inst, admin, teacher = people
    with clock.frozen(T0):
        with db.scope(admin) as s:
            token = credentials.create_password_link(s, actor=admin, user_id=teacher.id)
        with db.scope(system=True) as s:
            s.get(Institute, inst.id).subscription_end = T0.date() - timedelta(days=1)
        with db.scope(system=True) as s:
            assert credentials.describe_link(s, token=token) == (
                None,
                identity.SUBSCRIPTION_EXPIRED,
            )
        with pytest.raises(ValidationError, match="subscription"), db.scope(system=True) as s:
            credentials.set_password_with_link(
                s, token=token, password=GOOD, confirm=GOOD, source="test"
            )
