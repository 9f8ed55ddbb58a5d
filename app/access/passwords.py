"""Password change requests: a user asks, an admin approves or rejects, and the user sets a
new password at their next sign-in."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.access.common import (
    MAX_REASON,
    aware_utc,
    claim,
    reject_request,
    require_admin,
)
from app.access.models import PasswordChangeRequest
from app.core import audit, clock
from app.core.db import lock_key
from app.core.errors import Conflict, PermissionDenied, ValidationError
from app.core.ownership import owned, reach
from app.core.roles import Role
from app.core.security import hash_password
from app.core.statuses import RequestStatus
from app.core.tenancy import Actor
from app.identity import credentials
from app.identity.models import User, UserStatus
from app.notify import service as notify
from app.notify.models import Channel

# ------------------------------------------------------------------ password change requests


def request_password_change(
    session: Session, *, actor: Actor, note: str | None = None
) -> PasswordChangeRequest:
    """A signed-in user asks their admins for a password reset (one open request at a time)."""
    if actor.user_id is None or actor.institute_id is None:
        raise PermissionDenied(
            "Password requests go to an institute's admins; your account has no institute."
        )
    lock_key(session, f"password_request:{actor.user_id}")
    open_row = session.exec(
        select(PasswordChangeRequest).where(
            PasswordChangeRequest.user_id == actor.user_id,
            PasswordChangeRequest.status == RequestStatus.PENDING.value,
        )
    ).first()
    if open_row is not None:
        raise Conflict("You already asked for a password reset; an admin will decide soon.")
    text = (note or "").strip()
    if len(text) > MAX_REASON:
        raise ValidationError(f"Keep the note under {MAX_REASON} characters.", field="note")
    row = PasswordChangeRequest(
        institute_id=actor.institute_id, user_id=actor.user_id, note=text or None
    )
    audit.save_audited(
        session, row, "password_request.submit", actor=actor, target_type="password_change_request"
    )
    return row


def my_password_request(session: Session, *, actor: Actor) -> PasswordChangeRequest | None:
    """The user's latest password request, if any."""
    if actor.user_id is None:
        return None
    return session.exec(
        select(PasswordChangeRequest)
        .where(PasswordChangeRequest.user_id == actor.user_id)
        .order_by(col(PasswordChangeRequest.id).desc())
    ).first()


@dataclass(frozen=True)
class PasswordRequestRow:
    request: PasswordChangeRequest
    user_name: str
    user_contact: str
    user_role: str


def list_password_requests(
    session: Session, *, actor: Actor, status: str | None = None, institute_id: int | None = None
) -> list[PasswordRequestRow]:
    """Password requests of the admin's institute with who asked, pending first."""
    require_admin(actor)
    scope = actor.institute_scope(institute_id)
    query = (
        select(PasswordChangeRequest, User)
        .join(User, User.id == PasswordChangeRequest.user_id)
        .where(PasswordChangeRequest.institute_id == scope)
    )
    if status:
        query = query.where(PasswordChangeRequest.status == status)
    pending_first = col(PasswordChangeRequest.status) != RequestStatus.PENDING.value
    rows = session.exec(
        query.order_by(pending_first, col(PasswordChangeRequest.id).desc()).limit(500)
    ).all()
    return [
        PasswordRequestRow(
            request=req,
            user_name=user.name,
            user_contact=user.email or user.phone or "",
            user_role=Role(user.role).label,
        )
        for req, user in rows
    ]


def _password_request(session: Session, actor: Actor, request_id: int) -> PasswordChangeRequest:
    row = owned(session, PasswordChangeRequest, request_id, reach(actor), "password request")
    if row.user_id == actor.user_id:
        raise PermissionDenied("Another admin must decide your own password request.")
    return row


def _tell_user(session: Session, row: PasswordChangeRequest, text: str) -> None:
    notify.enqueue_internal(
        session,
        institute_id=row.institute_id,
        channel=Channel.IN_APP.value,
        recipient=None,
        recipient_user_id=row.user_id,
        subject="Password reset",
        text=text,
        dedupe_key=f"password_request:{row.id}:{row.status}",
    )


def approve_password_request(
    session: Session, *, actor: Actor, request_id: int
) -> tuple[PasswordChangeRequest, str | None]:
    """Approve: the user must set a new password at their next sign-in. When the admin manages
    the user's role a one-time reset link is made too (for a user who cannot sign in at all)."""
    require_admin(actor)
    row = _password_request(session, actor, request_id)
    user = session.get(User, row.user_id)
    if user is None or user.status == UserStatus.DISABLED.value:
        raise ValidationError("Activate the user before approving their password request.")
    claim(
        session,
        PasswordChangeRequest,
        row,
        actor=actor,
        status=RequestStatus.APPROVED.value,
        reason=None,
    )
    token = None
    try:
        # Refused before anything is written when the actor does not manage the user's role
        # (an admin's own request, decided by another admin): the next-sign-in step still applies.
        token = credentials.create_password_link(
            session, actor=actor, user_id=user.id, purpose="reset"
        )
    except PermissionDenied:
        token = None
    audit.on(
        session,
        actor,
        "password_request.approve",
        row.id,
        {"user_id": user.id, "link": token is not None},
        target_type="password_change_request",
        institute_id=row.institute_id,
    )
    _tell_user(
        session,
        row,
        "Your password reset was approved: you will choose a new password when you next sign in.",
    )
    return row, token


def reject_password_request(
    session: Session, *, actor: Actor, request_id: int, reason: str
) -> PasswordChangeRequest:
    """Reject with a reason the user sees on My account."""
    require_admin(actor)
    row = _password_request(session, actor, request_id)
    text = reject_request(
        session,
        row,
        actor=actor,
        reason=reason,
        action="password_request.reject",
        target_type="password_change_request",
    )
    _tell_user(session, row, f"Your password reset was not approved: {text}")
    return row


def _outstanding(session: Session, user_id: int) -> PasswordChangeRequest | None:
    """The approved request still waiting for a new password (a password set since clears it)."""
    row = session.exec(
        select(PasswordChangeRequest)
        .where(
            PasswordChangeRequest.user_id == user_id,
            PasswordChangeRequest.status == RequestStatus.APPROVED.value,
            col(PasswordChangeRequest.completed_at).is_(None),
        )
        .order_by(col(PasswordChangeRequest.id).desc())
    ).first()
    if row is None:
        return None
    user = session.get(User, user_id)
    if user is not None and user.password_set_at is not None and row.decided_at is not None:
        if aware_utc(user.password_set_at) >= aware_utc(row.decided_at):
            return None  # set through the reset link or My account meanwhile
    return row


def must_set_new_password(session: Session, *, user_id: int) -> bool:
    """Whether this user must choose a new password before anything else (system context)."""
    return _outstanding(session, user_id) is not None


def set_new_password(
    session: Session, *, actor: Actor, new: str, confirm: str
) -> PasswordChangeRequest:
    """Choose the new password an approved request asks for; the request is then complete."""
    row = _outstanding(session, actor.user_id) if actor.user_id else None
    if row is None:
        raise ValidationError("There is no approved password reset waiting for you.")
    if new != confirm:
        raise ValidationError("The two passwords differ.", field="confirm")
    credentials.check_password_policy(new)
    user = session.get(User, actor.user_id)
    now = clock.now()
    user.password_hash = hash_password(new)
    user.password_set_at = now
    session.add(user)
    row.completed_at = now
    audit.save_audited(
        session,
        row,
        "password_request.complete",
        actor=actor,
        target_type="password_change_request",
    )
    audit.on(session, actor, "user.password_set", user.id, {"via": "password_request"})
    return row
