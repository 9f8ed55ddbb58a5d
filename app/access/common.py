"""What the access requests and password requests share: limits and messages, the client's
address, rate keys, and the admin's claim on a pending request (one decision wins)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session

from app.core import audit, clock
from app.core.clock import aware_utc as aware_utc  # (re-exported for this package)
from app.core.config import get_settings
from app.core.errors import Conflict, ValidationError
from app.core.roles import Role
from app.core.statuses import RequestStatus
from app.core.tenancy import Actor

REQUESTABLE_ROLES = (Role.STUDENT, Role.TEACHER)
RATE_WINDOW = timedelta(minutes=1)
TOO_MANY = (
    "Too many requests from your network in the last minute. Please wait a minute and try again."
)
DUPLICATE = (
    "You already asked {institute} for access with this {contact}; the request is waiting for an "
    "admin. Use the status link you were given to follow it."
)
MAX_MESSAGE = 1000
MAX_REASON = 500


# ------------------------------------------------------------------ client address


def client_address(
    headers: Mapping[str, str] | None, remote_ip: str | None, *, hops: int | None = None
) -> str:
    """The requester's address for rate limits and the audit log.

    With `hops` (default TRUSTED_PROXY_HOPS) reverse proxies of our own in front of the app, the
    address is the one that many entries from the right of X-Forwarded-For: each of our proxies
    appends the address it saw, and anything further left was written by the client. With 0
    hops, or a header shorter than the configured hops, the header is ignored and the socket's
    peer counts. A client can never choose its own address."""
    if hops is None:
        hops = get_settings().TRUSTED_PROXY_HOPS
    forwarded = ""
    for key, value in (headers or {}).items():
        if key.lower() == "x-forwarded-for":
            forwarded = value or ""
            break
    chain = [part.strip() for part in forwarded.split(",") if part.strip()]
    chosen = chain[-hops] if hops > 0 and len(chain) >= hops else ""
    return (chosen or (remote_ip or "").strip() or "unknown")[:80]


def rate_key(client: str) -> str:
    return f"access_request:{client}"


def require_admin(actor: Actor) -> None:
    actor.require(Role.ADMIN, Role.SUPER_ADMIN)


def claim(session: Session, model, row, *, actor: Actor, status: str, reason: str | None) -> None:
    """Move a pending request to its decision exactly once (a second decider loses)."""
    now = clock.now()
    won = session.execute(
        update(model)
        .where(model.id == row.id, model.status == RequestStatus.PENDING.value)
        .values(status=status, decided_by=actor.user_id, decided_at=now, reason=reason)
    ).rowcount
    if won != 1:
        session.refresh(row)
        raise Conflict(f"This request was already {row.status}.")
    session.refresh(row)


def reject_request(
    session: Session, row: Any, *, actor: Actor, reason: str, action: str, target_type: str
) -> str:
    """Reject a pending request with the admin's reason (checked first), once, and audit it as
    `action`; returns the reason as stored."""
    text = clean_reason(reason)
    claim(session, type(row), row, actor=actor, status=RequestStatus.REJECTED.value, reason=text)
    audit.on(
        session,
        actor,
        action,
        row.id,
        {"reason": text},
        target_type=target_type,
        institute_id=row.institute_id,
    )
    return text


def clean_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationError("Give a reason: the requester will read it.", field="reason")
    if len(text) > MAX_REASON:
        raise ValidationError(f"Keep the reason under {MAX_REASON} characters.", field="reason")
    return text
