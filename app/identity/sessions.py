"""Server-side sessions: 12 h absolute, 30 min idle; a new random token at every sign-in.

The browser's Streamlit session holds only the token; the database holds its hash, the user,
and the times. Role and institute are re-read from the users table on every run.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from app.core import clock
from app.core.clock import aware_utc
from app.core.config import get_settings
from app.core.errors import AccessRevoked
from app.core.security import new_token, token_hash
from app.identity import service as identity
from app.identity.models import AuthSession, Institute, User
from app.identity.service import SessionUser

SESSION_EXPIRED = "Your session has expired. Please sign in again."
SESSION_IDLE = "You were signed out after {minutes} minutes without activity. Please sign in again."
SESSION_ENDED = "Your session has ended. Please sign in again."
TOUCH_EVERY = timedelta(seconds=30)


@dataclass
class SignInOutcome:
    """Who may be signed in (several when the person is on more than one institute's allowlist)."""

    users: list[SessionUser] = field(default_factory=list)
    error: str | None = None


def _institute_of(session: Session, user_id: int) -> int | None:
    user = session.get(User, user_id)
    return user.institute_id if user else None


def start_session(
    session: Session,
    *,
    user_id: int,
    method: str,
    source: str,
    link_oidc: tuple[str, str] | None = None,
) -> str:
    """Sign a user in: record it, activate an invited user, return the new session token."""
    settings = get_settings()
    identity.load_session_user(
        session, user_id=user_id
    )  # raises AccessRevoked: never start a dead session
    user = session.get(User, user_id)
    if link_oidc and link_oidc[1] and (user.oidc_subject is None):
        user.oidc_issuer, user.oidc_subject = link_oidc
        session.add(user)
    identity.mark_signed_in(session, user=user, method=method, source=source)
    token = new_token()
    now = clock.now()
    session.add(
        AuthSession(
            token_hash=token_hash(token),
            user_id=user_id,
            method=method,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.AUTH_SESSION_EXPIRY_HOURS),
            source=source,
        )
    )
    session.flush()
    return token


@dataclass
class SessionLookUp:
    """What one read of a session token found, and what (rarely) must be written about it."""

    row: AuthSession | None
    user: SessionUser | None = None
    message: str | None = None
    end_reason: str | None = None  # expired / idle / no_access: the session must be ended
    touch: bool = False  # last_seen_at is older than TOUCH_EVERY

    @property
    def needs_write(self) -> bool:
        return self.end_reason is not None or self.touch


def look_up_session(session: Session, *, token: str) -> SessionLookUp:
    """Read a session and its user in one query; writes nothing (safe in a read-only transaction)."""
    found = session.exec(
        select(AuthSession, User, Institute)
        .join(User, User.id == AuthSession.user_id)
        .outerjoin(Institute, Institute.id == User.institute_id)
        .where(AuthSession.token_hash == token_hash(token))
    ).first()
    if found is None:
        return SessionLookUp(row=None, message=SESSION_ENDED)
    row, user_row, institute = found
    if not hmac.compare_digest(row.token_hash, token_hash(token)):  # pragma: no cover - belt
        return SessionLookUp(row=None, message=SESSION_ENDED)
    if row.ended_at is not None:
        message = identity.NOT_AUTHORIZED if row.end_reason == "disabled" else SESSION_ENDED
        return SessionLookUp(row=row, message=message)
    settings = get_settings()
    now = clock.now()
    if now >= aware_utc(row.expires_at):
        return SessionLookUp(row=row, message=SESSION_EXPIRED, end_reason="expired")
    if now - aware_utc(row.last_seen_at) > timedelta(minutes=settings.AUTH_SESSION_IDLE_MINUTES):
        message = SESSION_IDLE.format(minutes=settings.AUTH_SESSION_IDLE_MINUTES)
        return SessionLookUp(row=row, message=message, end_reason="idle")
    try:
        user = identity.session_user_of(user_row, institute)
    except AccessRevoked as exc:
        return SessionLookUp(row=row, message=exc.message, end_reason="no_access")
    return SessionLookUp(row=row, user=user, touch=now - aware_utc(row.last_seen_at) >= TOUCH_EVERY)


def resume_session(session: Session, *, token: str) -> tuple[SessionUser | None, str | None]:
    """The user of a live session, or (None, why it ended). Ends idle/expired/disabled sessions."""
    found = look_up_session(session, token=token)
    row, now = found.row, clock.now()
    if found.end_reason:
        _end(
            session, row, now, found.end_reason, "auth.session_ended", {"reason": found.end_reason}
        )
        return None, found.message
    if found.touch:
        row.last_seen_at = now
        session.add(row)
        session.flush()
    return found.user, found.message


def end_session(session: Session, *, token: str, reason: str = "sign_out") -> None:
    row = session.exec(
        select(AuthSession).where(AuthSession.token_hash == token_hash(token))
    ).first()
    if row is not None and row.ended_at is None:
        _end(session, row, clock.now(), reason, "auth.sign_out")


def _end(
    session: Session,
    row: AuthSession,
    now: datetime,
    reason: str,
    action: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """End a sign-in session for `reason` and audit it as `action` against its user."""
    row.ended_at, row.end_reason = now, reason
    session.add(row)
    from app.core import audit

    audit.on(
        session,
        None,
        action,
        row.user_id,
        detail,
        target_type="user",
        institute_id=_institute_of(session, row.user_id),
    )
    session.flush()


def allowed_users(session: Session, users: list[User]) -> tuple[list[SessionUser], str]:
    """Of the matched allowlist rows, those that may sign in now, and the refusal message otherwise."""
    allowed, refusal = [], identity.NOT_AUTHORIZED
    for user in users:
        try:
            allowed.append(identity.load_session_user(session, user_id=user.id))
        except AccessRevoked as exc:
            refusal = exc.message
    return allowed, refusal
