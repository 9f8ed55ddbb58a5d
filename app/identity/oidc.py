"""Matching an OpenID Connect identity (st.login, e.g. Google) to the allowlist."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, select

from app.core import clock
from app.identity import service as identity
from app.identity.models import User, UserStatus
from app.identity.sessions import SignInOutcome, allowed_users

IDENTITY_EXPIRED = "Your Google sign-in has expired. Please sign in again."


def identity_expired(claims: dict) -> bool:
    """True when the identity token's `exp` has passed (st.user keeps claims after expiry)."""
    exp = claims.get("exp")
    if exp is None:
        return False
    try:
        return datetime.fromtimestamp(float(exp), tz=UTC) <= clock.now()
    except (TypeError, ValueError, OverflowError):
        return True


def match_identity(session: Session, *, claims: dict, source: str) -> SignInOutcome:
    """Linked users by (issuer, subject); otherwise, the first time, users with the verified email."""
    email = (claims.get("email") or "").strip().lower()
    issuer, subject = claims.get("iss"), claims.get("sub")
    label = email or f"{issuer}|{subject}"
    if identity_expired(claims):
        identity.record_denied_sign_in(
            session, identity=label, method="oidc", reason="identity expired", source=source
        )
        return SignInOutcome(error=IDENTITY_EXPIRED)
    users: list[User] = []
    if issuer and subject:
        users = list(
            session.exec(
                select(User).where(
                    User.oidc_issuer == issuer,
                    User.oidc_subject == subject,
                    User.status != UserStatus.DISABLED.value,
                )
            )
        )
    if not users and email:
        if claims.get("email_verified") is not True:
            identity.record_denied_sign_in(
                session, identity=label, method="oidc", reason="email not verified", source=source
            )
            return SignInOutcome(error=identity.NOT_AUTHORIZED)
        users = [
            u
            for u in identity.users_for_email(session, email=email)
            if u.oidc_subject is None or (u.oidc_issuer == issuer and u.oidc_subject == subject)
        ]
    allowed, refusal = allowed_users(session, users)
    if not allowed:
        identity.record_denied_sign_in(
            session, identity=label, method="oidc", reason=refusal, source=source
        )
        return SignInOutcome(error=refusal)
    return SignInOutcome(users=allowed)
