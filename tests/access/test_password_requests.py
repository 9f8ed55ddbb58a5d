"""Password change requests: asked on My account, decided by an admin, completed at next sign-in."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.access import service as access
from app.access.models import PasswordChangeRequest
from app.core.audit import AuditLog
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.core.roles import Role
from app.core.security import verify_password
from app.identity import credentials
from app.identity.models import PasswordLink, User
from app.notify.models import Notification
from tests import factories as f

NEW = "a long new phrase"


@pytest.fixture
def world(db):
    alpha = f.institute(db, name="Alpha Academy")
    beta = f.institute(db, name="Beta Institute")
    teacher = f.user(db, alpha, Role.TEACHER, password="old password here")
    return {
        "admin": f.actor_for(f.user(db, alpha, Role.ADMIN)),
        "other_admin": f.actor_for(f.user(db, beta, Role.ADMIN)),
        "teacher_user": teacher,
        "teacher": f.actor_for(teacher),
        "colleague": f.actor_for(f.user(db, alpha, Role.TEACHER)),
    }


def ask(db, actor) -> PasswordChangeRequest:
    with db.scope(actor) as s:
        return access.request_password_change(s, actor=actor)


def must(db, user_id) -> bool:
    with db.scope(system=True) as s:
        return access.must_set_new_password(s, user_id=user_id)


def actions(db) -> list[str]:
    with db.scope(system=True) as s:
        return list(s.exec(select(AuditLog.action).order_by(AuditLog.id)))


def test_request_approve_then_the_user_must_set_a_new_password(db, world):
    teacher, admin = world["teacher"], world["admin"]
    row = ask(db, teacher)
    with pytest.raises(Conflict, match="already asked"):
        ask(db, teacher)
    assert not must(db, teacher.user_id)
    with db.scope(admin) as s:
        approved, token = access.approve_password_request(s, actor=admin, request_id=row.id)
    assert approved.status == "approved" and token
    assert must(db, teacher.user_id)
    with pytest.raises(ValidationError, match="differ"), db.scope(teacher) as s:
        access.set_new_password(s, actor=teacher, new=NEW, confirm=NEW + "!")
    assert must(db, teacher.user_id)
    with db.scope(teacher) as s:
        access.set_new_password(s, actor=teacher, new=NEW, confirm=NEW)
    assert not must(db, teacher.user_id)
    with db.scope(system=True) as s:
        user = s.get(User, teacher.user_id)
        assert verify_password(user.password_hash, NEW)
        assert s.get(PasswordChangeRequest, row.id).completed_at is not None
        link = s.exec(select(PasswordLink).where(PasswordLink.user_id == user.id)).one()
        assert link.purpose == "reset"
        note = s.exec(select(Notification).where(Notification.recipient_user_id == user.id)).one()
        assert "approved" in note.text
    trail = actions(db)
    for step in (
        "password_request.submit",
        "password_request.approve",
        "user.password_reset",
        "password_request.complete",
        "user.password_set",
    ):
        assert step in trail, step


def test_the_reset_link_also_completes_the_request(db, world):
    teacher, admin = world["teacher"], world["admin"]
    row = ask(db, teacher)
    with db.scope(admin) as s:
        _, token = access.approve_password_request(s, actor=admin, request_id=row.id)
    with db.scope(system=True) as s:
        credentials.set_password_with_link(s, token=token, password=NEW, confirm=NEW, source="t")
    assert not must(db, teacher.user_id)


def test_a_non_admin_cannot_approve(db, world):
    row = ask(db, world["teacher"])
    colleague = world["colleague"]
    with pytest.raises(PermissionDenied), db.scope(colleague) as s:
        access.approve_password_request(s, actor=colleague, request_id=row.id)
    other = world["other_admin"]
    with pytest.raises(NotFound), db.scope(other) as s:
        access.approve_password_request(s, actor=other, request_id=row.id)
    with db.scope(other) as s:
        assert access.list_password_requests(s, actor=other) == []
    assert not must(db, world["teacher"].user_id)
    with db.scope(system=True) as s:
        assert s.get(PasswordChangeRequest, row.id).status == "pending"


def test_an_admin_cannot_decide_their_own_request(db, world):
    admin = world["admin"]
    row = ask(db, admin)
    with pytest.raises(PermissionDenied, match="Another admin"), db.scope(admin) as s:
        access.approve_password_request(s, actor=admin, request_id=row.id)


def test_rejection_needs_a_reason_and_changes_nothing(db, world):
    teacher, admin = world["teacher"], world["admin"]
    row = ask(db, teacher)
    with pytest.raises(ValidationError, match="Give a reason"), db.scope(admin) as s:
        access.reject_password_request(s, actor=admin, request_id=row.id, reason="")
    with db.scope(admin) as s:
        access.reject_password_request(
            s, actor=admin, request_id=row.id, reason="Use the Telegram code instead."
        )
    assert not must(db, teacher.user_id)
    with db.scope(teacher) as s:
        mine = access.my_password_request(s, actor=teacher)
    assert (mine.status, mine.reason) == ("rejected", "Use the Telegram code instead.")
    assert "password_request.reject" in actions(db)
    # Decided: the user may ask again.
    assert ask(db, teacher).status == "pending"
