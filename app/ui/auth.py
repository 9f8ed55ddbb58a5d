"""Who is signed in: a server-side session re-checked on every run.

The browser's Streamlit session holds only a random session token. Role, institute and status
are re-read from the database on every run, so disabling a user or ending a subscription takes
effect on their next click.
"""

from __future__ import annotations

import json
import re

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
# The session token also lives in a cookie, so a browser whose websocket reconnects to another
# web process (a restart, a second replica) resumes its session whatever the sign-in method.
# The database keeps only the token's hash; the cookie expires with the session and is cleared
# (and the session ended server-side) at sign-out.
COOKIE = "cohort_session"
COOKIE_PENDING = "cohort_cookie_pending"
COOKIE_REFUSED = "cohort_cookie_refused"
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{32,64}")


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
    st.session_state[COOKIE_PENDING] = token
    st.session_state.pop(CHOICES, None)
    st.session_state.pop(REFUSED_IDENTITY, None)
    return True


def cookie_token() -> str | None:
    """The session token the browser's cookie carried when this websocket connected, if usable."""
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no request context (AppTest, scripts)
        return None
    if not isinstance(value, str) or not _TOKEN_SHAPE.fullmatch(value):
        return None
    return None if value == st.session_state.get(COOKIE_REFUSED) else value


def write_cookie() -> None:
    """Set (after sign-in) or clear (after sign-out) the session cookie in the browser, once.

    Streamlit serves no response a server-side Set-Cookie could ride on for a password or code
    sign-in, so the page sets it with a script: first-party, SameSite=Strict, Secure on https,
    expiring with the session.
    """
    if COOKIE_PENDING not in st.session_state:
        return
    token = st.session_state.pop(COOKIE_PENDING)
    if token:
        max_age = get_settings().AUTH_SESSION_EXPIRY_HOURS * 3600
        value = f"{COOKIE}={token}; Max-Age={max_age}"
    else:
        value = f"{COOKIE}=; Max-Age=0"
    st.html(
        "<script>document.cookie = "
        + json.dumps(value + "; Path=/; SameSite=Strict")
        + " + (location.protocol === 'https:' ? '; Secure' : '');</script>",
        unsafe_allow_javascript=True,
        width="content",
    )


def sign_out(message: str | None = SIGNED_OUT) -> bool:
    """End the session here (and the identity provider's cookie when signed in through it).

    Returns True when st.logout() took over: the caller must not st.rerun(), which could
    pre-empt the logout redirect and leave the identity cookie in place.
    """
    token = st.session_state.pop(TOKEN, None)
    st.session_state.pop(CURRENT, None)
    st.session_state.pop(CHOICES, None)
    # This connection's cookie is dead from now on, even before the browser drops it.
    from_cookie = cookie_token()
    if from_cookie:
        st.session_state[COOKIE_REFUSED] = from_cookie
    st.session_state[COOKIE_PENDING] = None  # clear the cookie
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
    from_cookie = False
    if not token:
        token = cookie_token()
        from_cookie = token is not None
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
            st.session_state[TOKEN] = token  # resumed from the cookie: no cookie look-up again
            return user
        if not from_cookie:
            st.session_state.pop(TOKEN, None)
            sign_out(message)
            return None
        # A stale cookie (ended, idle or expired): forget it, say why once, and let a Google
        # identity sign in afresh below.
        st.session_state[COOKIE_REFUSED] = token
        st.session_state[COOKIE_PENDING] = None
        if message != sessions.SESSION_ENDED:
            st.session_state[MESSAGE] = message
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


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def listen_address() -> str:
    """The address the server listens on (Streamlit's `server.address`; empty = every interface)."""
    try:
        return str(st.get_option("server.address") or "")
    except Exception:  # noqa: BLE001 - option unavailable outside a server
        return ""


def _is_loopback(address: str | None) -> bool:
    return bool(address) and (address in LOOPBACK or address.startswith("127."))


def dev_sign_in_enabled() -> bool:
    """Dev sign-in ("become anyone") needs APP_ENV=dev and DEV_SIGN_IN (on by default in dev),
    a server listening on loopback only (unless DEV_SIGN_IN_BEYOND_LOOPBACK=1) and a browser on
    this machine."""
    settings = get_settings()
    if not settings.dev_sign_in:
        return False
    if not _is_loopback(listen_address()) and not settings.DEV_SIGN_IN_BEYOND_LOOPBACK:
        return False
    try:
        ip = st.context.ip_address
    except Exception:  # noqa: BLE001 - no request context (tests)
        ip = None
    if not isinstance(ip, str) or not ip:
        return True  # no browser request behind this run (AppTest, scripts)
    return _is_loopback(ip)
