"""Server-side sessions: absolute and idle expiry, sign-out, disabling ends open sessions."""

from datetime import UTC, datetime, timedelta

import pytest

from app.core import clock
from app.core.roles import Role
from app.identity import service as identity
from app.identity import sessions
from app.identity.models import AuthSession, Institute
from tests import factories as f

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def teacher(db):
    return f.user(db, f.institute(db), Role.TEACHER)


def start(db, user):
    with db.scope(system=True) as s:
        return sessions.start_session(s, user_id=user.id, method="password", source="test")


def resume(db, token):
    with db.scope(system=True) as s:
        return sessions.resume_session(s, token=token)


def test_new_token_at_every_sign_in_and_only_its_hash_stored(db, teacher):
    first, second = start(db, teacher), start(db, teacher)
    assert first != second
    with db.scope(system=True) as s:
        hashes = {row.token_hash for row in s.exec(sessions.select(AuthSession))}
    assert first not in hashes and len(hashes) == 2


def test_idle_expiry_after_thirty_minutes(db, teacher):
    with clock.frozen(T0):
        token = start(db, teacher)
        for _ in range(4):  # activity keeps it alive
            clock.advance(timedelta(minutes=29))
            assert resume(db, token)[0] is not None
        clock.advance(timedelta(minutes=30, seconds=1))
        user, message = resume(db, token)
    assert user is None and "30 minutes without activity" in message
    assert resume(db, token) == (None, sessions.SESSION_ENDED)


def test_absolute_expiry_after_twelve_hours_even_when_active(db, teacher):
    with clock.frozen(T0):
        token = start(db, teacher)
        for _ in range(24):  # active every 29m50s: alive for 11h56m
            clock.advance(timedelta(minutes=29, seconds=50))
            assert resume(db, token)[0] is not None
        clock.advance(timedelta(minutes=5))  # 12h01m after sign-in
        user, message = resume(db, token)
    assert user is None and message == sessions.SESSION_EXPIRED


def test_sign_out_ends_the_session(db, teacher):
    token = start(db, teacher)
    with db.scope(system=True) as s:
        sessions.end_session(s, token=token)
    assert resume(db, token)[0] is None


def test_disabling_a_user_ends_their_open_sessions(db, teacher):
    token = start(db, teacher)
    with db.scope(system=True) as s:
        institute = s.get(Institute, teacher.institute_id)
    inst_admin = f.actor_for(f.user(db, institute, Role.ADMIN))
    with db.scope(inst_admin) as s:
        identity.set_user_status(s, actor=inst_admin, user_id=teacher.id, status="disabled")
    user, message = resume(db, token)
    assert user is None and message == identity.NOT_AUTHORIZED
