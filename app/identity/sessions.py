"""Server-side sessions: 12 h absolute, 30 min idle; a new random token at every sign-in.

The browser's Streamlit session holds only the token; the database holds its hash, the user,
and the times. Role and institute are re-read from the users table on every run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from app.core import clock
from app.core.config import get_settings
from app.core.errors import AccessRevoked
from app.core.security import new_token, token_hash
from app.identity import service as identity
from app.identity.models import AuthSession, User
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


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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


def resume_session(session: Session, *, token: str) -> tuple[SessionUser | None, str | None]:
    """The user of a live session, or (None, why it ended). Ends idle/expired/disabled sessions."""
    row = session.exec(
        select(AuthSession).where(AuthSession.token_hash == token_hash(token))
    ).first()
    if row is None or row.ended_at is not None:
        return (
            None,
            SESSION_ENDED
            if row is None or row.end_reason != "disabled"
            else identity.NOT_AUTHORIZED,
        )
    settings = get_settings()
    now = clock.now()
    reason, message = None, None
    if now >= _aware(row.expires_at):
        reason, message = "expired", SESSION_EXPIRED
    elif now - _aware(row.last_seen_at) > timedelta(minutes=settings.AUTH_SESSION_IDLE_MINUTES):
        reason, message = "idle", SESSION_IDLE.format(minutes=settings.AUTH_SESSION_IDLE_MINUTES)
    else:
        try:
            user = identity.load_session_user(session, user_id=row.user_id)
        except AccessRevoked as exc:
            reason, message = "no_access", exc.message
    if reason:
        row.ended_at, row.end_reason = now, reason
        session.add(row)
        session.flush()
        from app.core import audit

        audit.record(
            session,
            actor=None,
            action="auth.session_ended",
            institute_id=_institute_of(session, row.user_id),
            target_type="user",
            target_id=row.user_id,
            detail={"reason": reason},
        )
        return None, message
    if now - _aware(row.last_seen_at) >= TOUCH_EVERY:
        row.last_seen_at = now
        session.add(row)
        session.flush()
    return user, None


def end_session(session: Session, *, token: str, reason: str = "sign_out") -> None:
    row = session.exec(
        select(AuthSession).where(AuthSession.token_hash == token_hash(token))
    ).first()
    if row is not None and row.ended_at is None:
        row.ended_at, row.end_reason = clock.now(), reason
        session.add(row)
        from app.core import audit

        audit.record(
            session,
            actor=None,
            action="auth.sign_out",
            institute_id=_institute_of(session, row.user_id),
            target_type="user",
            target_id=row.user_id,
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
