"""A 9 am rush: many users signing in at once must not see `database is locked` on SQLite.

Each sign-in reads (the user, the rate limits) and then writes (`last_sign_in_at`, the session
row, the audit log). On SQLite a transaction that began as a read cannot wait for the write lock
once another writer has committed, so every such unit of work must begin IMMEDIATE.
"""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from app.core import clock
from app.core.roles import Role
from app.identity import credentials, sessions
from app.identity.models import AuthSession, User
from tests import factories as f

USERS = 20
PASSWORD = "a long and unusual passphrase 42"


@pytest.mark.heavy
def test_twenty_users_sign_in_at_once_without_a_lock_error(db):
    inst = f.institute(db)
    users = [
        f.user(db, inst, Role.TEACHER, email=f"rush{i}@example.com", password=PASSWORD)
        for i in range(USERS)
    ]
    barrier = threading.Barrier(USERS)
    errors: list[BaseException] = []
    tokens: list[str] = []

    def sign_in(user: User) -> None:
        try:
            barrier.wait(timeout=30)
            with db.scope(system=True) as s:  # the sign-in page's path
                outcome = credentials.sign_in_with_password(
                    s, identifier=user.email, password=PASSWORD, source="test"
                )
            assert outcome.error is None, outcome.error
            with db.scope(system=True) as s:  # app.ui.auth.start
                token = sessions.start_session(
                    s, user_id=outcome.users[0].id, method="password", source="test"
                )
            tokens.append(token)
            for _ in range(3):  # a few reruns resume (and touch) the session
                with db.scope(system=True) as s:
                    user_now, message = sessions.resume_session(s, token=token)
                assert user_now is not None, message
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sign_in, args=(u,)) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.scope(system=True) as s:
        signed = s.exec(select(User).where(User.last_sign_in_at.is_not(None))).all()
        assert len(signed) == USERS
        assert len(s.exec(select(AuthSession)).all()) == USERS


def test_a_read_that_turns_out_to_write_is_retried_as_a_writer(db):
    """A page's read that writes (a key made on first use) after another writer committed since
    its snapshot: SQLite refuses the upgrade at once; the unit of work runs again as a writer."""
    from app.core.ratelimit import RateEvent
    from app.ui.components import read

    inst = f.institute(db)
    actor = f.actor_for(f.user(db, inst, Role.ADMIN))
    attempts: list[int] = []

    def read_then_write(session, *, actor):
        attempts.append(1)
        session.exec(select(User)).all()  # the read: a snapshot is taken
        if len(attempts) == 1:  # meanwhile someone else writes and commits
            with db.scope(system=True) as other:
                other.add(RateEvent(key="elsewhere", at=clock.now()))
        session.add(RateEvent(key="made on first use", at=clock.now()))
        session.flush()
        return "done"

    assert read(actor, read_then_write) == "done"
    with db.scope(system=True) as s:
        keys = sorted(e.key for e in s.exec(select(RateEvent)))
    assert keys == ["elsewhere", "made on first use"]
