"""Google identities matched to the allowlist; first-run admins; consent acceptance."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from app.core import clock
from app.core.config import Settings
from app.core.errors import ValidationError
from app.core.roles import Role
from app.identity import bootstrap, oidc, onboarding
from app.identity import sessions as auth_sessions
from app.identity.models import ConsentAcceptance, Institute, User
from app.identity.service import NOT_AUTHORIZED, SUBSCRIPTION_EXPIRED
from tests import factories as f

ISS = "https://accounts.google.com"


def match(db, **claims):
    with db.scope(system=True) as s:
        return oidc.match_identity(s, claims=claims, source="test")


def test_first_sign_in_by_verified_email_then_linked_by_subject(db):
    inst = f.institute(db)
    teacher = f.user(db, inst, Role.TEACHER, email="tara@alpha.example")
    outcome = match(db, iss=ISS, sub="g-123", email="Tara@alpha.example", email_verified=True)
    assert [u.id for u in outcome.users] == [teacher.id]
    with db.scope(system=True) as s:
        auth_sessions.start_session(
            s, user_id=teacher.id, method="oidc", source="test", link_oidc=(ISS, "g-123")
        )
        s.get(User, teacher.id).email = "changed@alpha.example"
    # Linked now: found by (issuer, subject) even though the email changed.
    assert [u.id for u in match(db, iss=ISS, sub="g-123", email="other@gmail.com").users] == [
        teacher.id
    ]
    # Another Google account with the old email cannot take over the linked user.
    assert (
        match(db, iss=ISS, sub="g-999", email="changed@alpha.example", email_verified=True).error
        == NOT_AUTHORIZED
    )


def test_unverified_stranger_disabled_and_expired_are_refused(db):
    inst = f.institute(db)
    f.user(db, inst, Role.TEACHER, email="tara@alpha.example")
    f.user(db, inst, Role.STUDENT, email="off@alpha.example", status="disabled")
    assert (
        match(db, iss=ISS, sub="1", email="tara@alpha.example", email_verified=False).error
        == NOT_AUTHORIZED
    )
    assert (
        match(db, iss=ISS, sub="1b", email="tara@alpha.example").error == NOT_AUTHORIZED
    )  # unverified
    assert (
        match(db, iss=ISS, sub="2", email="stranger@gmail.com", email_verified=True).error
        == NOT_AUTHORIZED
    )
    assert (
        match(db, iss=ISS, sub="3", email="off@alpha.example", email_verified=True).error
        == NOT_AUTHORIZED
    )
    with db.scope(system=True) as s:
        s.get(Institute, inst.id).subscription_end = datetime(2020, 1, 1).date()
    assert (
        match(db, iss=ISS, sub="4", email="tara@alpha.example", email_verified=True).error
        == SUBSCRIPTION_EXPIRED
    )


def test_identity_exp_is_checked(db):
    inst = f.institute(db)
    f.user(db, inst, Role.TEACHER, email="tara@alpha.example")
    now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    with clock.frozen(now):
        past = int((now - timedelta(minutes=1)).timestamp())
        future = int((now + timedelta(minutes=30)).timestamp())
        assert (
            match(
                db, iss=ISS, sub="1", email="tara@alpha.example", email_verified=True, exp=past
            ).error
            == oidc.IDENTITY_EXPIRED
        )
        assert match(
            db, iss=ISS, sub="1", email="tara@alpha.example", email_verified=True, exp=future
        ).users


def test_bootstrap_admins_on_empty_database_only(db, caplog):
    settings = Settings(
        _env_file=None,
        ADMIN_EMAILS="Owner@Example.com,second@example.com",
        AUTH_ADMIN_PHONE="9876543210",
    )
    with db.scope(system=True) as s:
        inst = bootstrap.bootstrap_admins(s, settings=settings)
    assert inst is not None and inst.bootstrap_warning
    assert bootstrap.BOOTSTRAP_WARNING in caplog.text
    with db.scope(system=True) as s:
        admins = s.exec(select(User).where(User.institute_id == inst.id)).all()
        assert {(u.email, u.phone, u.role, u.status) for u in admins} == {
            ("owner@example.com", "+919876543210", "admin", "active"),
            ("second@example.com", None, "admin", "active"),
        }
        assert bootstrap.bootstrap_admins(s, settings=settings) is None  # not empty any more
    actor = f.actor_for(admins[0])
    with db.scope(actor) as s:
        bootstrap.dismiss_bootstrap_warning(s, actor=actor)
    with db.scope(system=True) as s:
        assert not s.get(Institute, inst.id).bootstrap_warning


def test_onboarding_stores_consent_with_version_and_time(db):
    inst = f.institute(db)
    user = f.user(db, inst, Role.STUDENT, consent_version=None)
    actor = f.actor_for(user)
    with pytest.raises(ValidationError, match="accept"), db.scope(actor) as s:
        onboarding.complete_onboarding(s, actor=actor, name="Stu", phone="9876543210", accept=False)
    moment = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    with clock.frozen(moment), db.scope(actor) as s:
        onboarding.complete_onboarding(
            s, actor=actor, name="Stu Dent", phone="9876543210", accept=True
        )
    with db.scope(actor) as s:
        [acceptance] = s.exec(select(ConsentAcceptance)).all()
        row = s.get(User, user.id)
    assert acceptance.version == onboarding.CONSENT_VERSION
    assert acceptance.accepted_at == moment and acceptance.institute_id == inst.id
    assert (row.name, row.phone, row.consent_version) == (
        "Stu Dent",
        "+919876543210",
        onboarding.CONSENT_VERSION,
    )
    assert not onboarding.needs_onboarding(row.consent_version)
    assert onboarding.needs_onboarding("2020-01")
