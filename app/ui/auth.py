"""Who is signed in: a server-side session re-checked on every run.

The browser's Streamlit session holds only a random session token. Role, institute and status
are re-read from the database on every run, so disabling a user or ending a subscription takes
effect on their next click.
"""

from __future__ import annotations

import streamlit as st

from app.core import audit
from app.core.config import get_settings
from app.core.db import session_scope
from app.core.errors import AccessRevoked
from app.identity import oidc, sessions
from app.identity.service import SessionUser
from app.identity.sessions import SignInOutcome

TOKEN = "cohort_session_token"
CURRENT = "cohort_current_user"
MESSAGE = "cohort_auth_message"
CHOICES = "cohort_identity_choices"
REFUSED_IDENTITY = "cohort_refused_identity"
SIGNED_OUT = "You have signed out."


def source() -> str:
    """Where the request came from, for the audit log."""
    try:
        ip = st.context.ip_address
    except Exception:  # noqa: BLE001 - not available in every runtime
        ip = None
    return f"web {ip}" if ip else "web"


def oidc_identity() -> dict | None:
    """The identity asserted by st.login (or seeded by AppTest), when signed in."""
    try:
        user = st.user
        if user.get("is_logged_in"):
            return dict(user)
    except Exception:  # noqa: BLE001 - auth not configured
        return None
    return None


def auth_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file
        return False


def _identity_label(claims: dict) -> str:
    return (claims.get("email") or "").lower() or f"{claims.get('iss')}|{claims.get('sub')}"


def complete_sign_in(outcome: SignInOutcome, *, method: str, claims: dict | None = None) -> bool:
    """Start a session for the single allowed user, or ask which institute; False on refusal."""
    if outcome.error or not outcome.users:
        st.session_state[MESSAGE] = outcome.error
        return False
    if len(outcome.users) > 1:
        st.session_state[CHOICES] = {
            "method": method,
            "claims": {k: claims.get(k) for k in ("iss", "sub")} if claims else None,
            "users": [
                (u.id, u.institute_name or "All institutes", u.role.label) for u in outcome.users
            ],
        }
        return False
    return start(outcome.users[0].id, method=method, claims=claims)


def start(user_id: int, *, method: str, claims: dict | None = None) -> bool:
    """Start a session; False (with the reason for the sign-in page) when access ended meanwhile."""
    link = (claims.get("iss"), claims.get("sub")) if claims and claims.get("sub") else None
    try:
        with session_scope(system=True) as session:
            token = sessions.start_session(
                session, user_id=user_id, method=method, source=source(), link_oidc=link
            )
    except AccessRevoked as exc:
        st.session_state[MESSAGE] = exc.message
        st.session_state.pop(CHOICES, None)
        return False
    st.session_state[TOKEN] = token
    st.session_state.pop(CHOICES, None)
    st.session_state.pop(REFUSED_IDENTITY, None)
    return True


def sign_out(message: str | None = SIGNED_OUT) -> bool:
    """End the session here (and the identity provider's cookie when signed in through it).

    Returns True when st.logout() took over: the caller must not st.rerun(), which could
    pre-empt the logout redirect and leave the identity cookie in place.
    """
    token = st.session_state.pop(TOKEN, None)
    st.session_state.pop(CURRENT, None)
    st.session_state.pop(CHOICES, None)
    if token:
        with session_scope(system=True) as session:
            sessions.end_session(session, token=token)
    if message:
        st.session_state[MESSAGE] = message
    claims = oidc_identity()
    if claims is not None:
        st.session_state[REFUSED_IDENTITY] = _identity_label(claims)
        if auth_configured():
            st.logout()
            return True
    return False


def current_user() -> SessionUser | None:
    """The signed-in, allowed user for this run, or None (with a message for the sign-in page)."""
    token = st.session_state.get(TOKEN)
    if token:
        # One read-only query on a plain rerun; a write (touch every 30 s, or ending the session)
        # only when the look-up says so, in its own short transaction.
        with session_scope(system=True, readonly=True) as session:
            found = sessions.look_up_session(session, token=token)
        user, message = found.user, found.message
        if found.needs_write:
            with session_scope(system=True) as session:
                user, message = sessions.resume_session(session, token=token)
        if user is not None:
            return user
        st.session_state.pop(TOKEN, None)
        sign_out(message)
        return None
    claims = oidc_identity()
    if claims is None or st.session_state.get(CHOICES):
        return None
    if st.session_state.get(REFUSED_IDENTITY) == _identity_label(claims):
        return None  # refused or signed out here; the provider's cookie is on its way out
    with session_scope(system=True) as session:
        outcome = oidc.match_identity(session, claims=claims, source=source())
    if not complete_sign_in(outcome, method="oidc", claims=claims):
        if outcome.error:
            st.session_state[REFUSED_IDENTITY] = _identity_label(claims)
        return None
    return current_user()


def guard(*roles, onboarding: bool = False) -> tuple[SessionUser, object]:
    """Every page calls this first: stop unless the signed-in, onboarded user has one of `roles`."""
    from app.identity.onboarding import needs_onboarding

    user = st.session_state.get(CURRENT)
    if user is None:
        user = current_user()
    if user is None:
        st.warning("Please sign in.")
        st.stop()
    if not onboarding and needs_onboarding(user.consent_version):
        st.warning(
            "Please finish signing in first: confirm your details and accept the data-use consent."
        )
        st.stop()
    if roles and user.role not in roles:
        with session_scope(system=True) as session:
            audit.record(
                session,
                actor=user.actor(source()),
                action="auth.permission_denied",
                detail={"page_for": [str(r) for r in roles]},
            )
        st.error("You do not have access to this page.")
        st.stop()
    return user, user.actor(source())


def dev_sign_in_enabled() -> bool:
    """Dev sign-in: only with APP_ENV=dev, and only for a browser on this machine."""
    if not get_settings().is_dev:
        return False
    try:
        ip = st.context.ip_address
    except Exception:  # noqa: BLE001 - no request context (tests)
        ip = None
    return ip in (None, "127.0.0.1", "::1", "localhost") or str(ip).startswith("127.")
