"""Who is signed in: re-read from the database on every run; role and institute never come from the browser."""

from __future__ import annotations

import streamlit as st

from app.core import audit
from app.core.config import get_settings
from app.core.db import session_scope
from app.core.errors import AccessRevoked
from app.core.roles import Role
from app.core.tenancy import Actor
from app.identity import service as identity
from app.identity.service import NOT_AUTHORIZED, SessionUser

USER_ID = "cohort_user_id"
CURRENT = "cohort_current_user"
MESSAGE = "cohort_auth_message"
CHOICES = "cohort_identity_choices"
REFUSED_IDENTITY = "cohort_refused_identity"


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


def sign_in_as(user_id: int, *, method: str) -> None:
    """Start a signed-in session for an allowlisted user (already checked by the caller)."""
    with session_scope(system=True) as session:
        user = session.get(identity.User, user_id)
        identity.mark_signed_in(session, user=user, method=method, source=source())
    st.session_state[USER_ID] = user_id
    st.session_state.pop(CHOICES, None)


def sign_out(message: str | None = None) -> None:
    """End the session here (and at the identity provider when signed in through it)."""
    user_id = st.session_state.pop(USER_ID, None)
    st.session_state.pop(CURRENT, None)
    st.session_state.pop(CHOICES, None)
    if user_id is not None:
        with session_scope(system=True) as session:
            audit.record(
                session,
                actor=None,
                action="auth.sign_out",
                target_type="user",
                target_id=user_id,
                source=source(),
            )
    if message:
        st.session_state[MESSAGE] = message
    if oidc_identity() is not None and auth_configured():
        st.logout()


def _refuse(identity_text: str, method: str, reason: str, message: str) -> None:
    # Audit each refused identity once per browser session, not on every rerun.
    if st.session_state.get(REFUSED_IDENTITY) != identity_text:
        with session_scope(system=True) as session:
            identity.record_denied_sign_in(
                session, identity=identity_text, method=method, reason=reason, source=source()
            )
        st.session_state[REFUSED_IDENTITY] = identity_text
    st.session_state[MESSAGE] = message


def current_user() -> SessionUser | None:
    """The signed-in, allowed user for this run, or None (with a message for the sign-in page)."""
    user_id = st.session_state.get(USER_ID)
    if user_id is not None:
        try:
            with session_scope(system=True) as session:
                return identity.load_session_user(session, user_id=user_id)
        except AccessRevoked as exc:
            st.session_state.pop(USER_ID, None)
            st.session_state[MESSAGE] = exc.message
            with session_scope(system=True) as session:
                audit.record(
                    session,
                    actor=None,
                    action="auth.session_ended",
                    target_type="user",
                    target_id=user_id,
                    detail={"reason": exc.message},
                    source=source(),
                )
            if oidc_identity() is not None:
                st.session_state[REFUSED_IDENTITY] = (oidc_identity() or {}).get("email")
            return None
    claims = oidc_identity()
    if claims is None:
        return None
    email = (claims.get("email") or "").strip().lower()
    if st.session_state.get(REFUSED_IDENTITY) == email and email:
        return None
    if claims.get("email_verified") is False:
        _refuse(email, "oidc", "email not verified", NOT_AUTHORIZED)
        return None
    with session_scope(system=True) as session:
        candidates = identity.users_for_email(session, email=email)
        allowed = []
        refusal = NOT_AUTHORIZED
        for user in candidates:
            try:
                allowed.append(identity.load_session_user(session, user_id=user.id))
            except AccessRevoked as exc:
                refusal = exc.message
    if not allowed:
        _refuse(email or "(no email)", "oidc", "not allowlisted or no access", refusal)
        return None
    if len(allowed) > 1:
        st.session_state[CHOICES] = [
            (u.id, u.institute_name or "All institutes", u.role.label) for u in allowed
        ]
        return None
    sign_in_as(allowed[0].id, method="oidc")
    return allowed[0]


def guard(*roles: Role) -> tuple[SessionUser, Actor]:
    """Every page calls this first: stop unless the signed-in user has one of `roles`."""
    user = st.session_state.get(CURRENT)
    if user is None:
        user = current_user()
    if user is None:
        st.warning("Please sign in.")
        st.stop()
    if roles and user.role not in roles:
        with session_scope(system=True) as session:
            audit.record(
                session,
                actor=user.actor(source()),
                action="auth.permission_denied",
                detail={"page_for": [r.value for r in roles]},
            )
        st.error("You do not have access to this page.")
        st.stop()
    return user, user.actor(source())


def dev_sign_in_enabled() -> bool:
    return get_settings().is_dev
