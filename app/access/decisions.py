"""Admins decide access requests: list, count, approve (an invited user) or reject with a
reason, one decision winning."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.access.common import (
    claim,
    reject_request,
    require_admin,
)
from app.access.models import AccessRequest, PasswordChangeRequest
from app.core import audit, db
from app.core.errors import Conflict
from app.core.ownership import owned, reach
from app.core.statuses import RequestStatus
from app.core.tenancy import Actor
from app.identity import credentials
from app.identity import service as identity
from app.identity.models import User

# ------------------------------------------------------------------ admins decide


def list_access_requests(
    session: Session, *, actor: Actor, status: str | None = None, institute_id: int | None = None
) -> list[AccessRequest]:
    """Access requests to the admin's institute, pending first, newest first."""
    require_admin(actor)
    scope = actor.institute_scope(institute_id)
    query = select(AccessRequest).where(AccessRequest.institute_id == scope)
    if status:
        query = query.where(AccessRequest.status == status)
    pending_first = col(AccessRequest.status) != RequestStatus.PENDING.value
    return list(
        session.exec(query.order_by(pending_first, col(AccessRequest.id).desc()).limit(500))
    )


def pending_counts(
    session: Session, *, actor: Actor, institute_id: int | None = None
) -> dict[str, int]:
    """How many access and password requests wait for the admin: {"access": n, "password": m}."""
    require_admin(actor)
    scope = actor.institute_scope(institute_id)
    return {
        key: db.count(
            session, model, model.institute_id == scope, model.status == RequestStatus.PENDING.value
        )
        for key, model in (("access", AccessRequest), ("password", PasswordChangeRequest))
    }


def _access_request(session: Session, actor: Actor, request_id: int) -> AccessRequest:
    return owned(session, AccessRequest, request_id, reach(actor), "access request")


@dataclass(frozen=True)
class Approval:
    request: AccessRequest
    user: User
    token: str  # the invitation's one-time password link


def approve_access_request(session: Session, *, actor: Actor, request_id: int) -> Approval:
    """Approve: the requester goes on the allowlist (invited, with the role asked for) and an
    invitation password link is made, exactly as when inviting from the Users page."""
    require_admin(actor)
    row = _access_request(session, actor, request_id)
    if row.status != RequestStatus.PENDING.value:
        raise Conflict(f"This request was already {row.status}.")
    claim(
        session, AccessRequest, row, actor=actor, status=RequestStatus.APPROVED.value, reason=None
    )
    user = identity.invite_user(
        session,
        actor=actor,
        name=row.name,
        role=row.role,
        email=row.email,
        phone=row.phone,
        institute_id=row.institute_id,
    )
    token = credentials.create_password_link(
        session, actor=actor, user_id=user.id, purpose="invitation"
    )
    row.user_id = user.id
    audit.save_audited(
        session,
        row,
        "access_request.approve",
        actor=actor,
        institute_id=row.institute_id,
        detail={"user_id": user.id, "role": row.role},
    )
    return Approval(request=row, user=user, token=token)


def reject_access_request(
    session: Session, *, actor: Actor, request_id: int, reason: str
) -> AccessRequest:
    """Reject with a reason the requester sees on their status page."""
    require_admin(actor)
    row = _access_request(session, actor, request_id)
    reject_request(
        session,
        row,
        actor=actor,
        reason=reason,
        action="access_request.reject",
        target_type="access_request",
    )
    return row
