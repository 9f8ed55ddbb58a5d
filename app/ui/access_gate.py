"""Access requests and password resets as the UI needs them: the client's address for the
public form's rate limit, and whether a signed-in user must first choose a new password."""

from __future__ import annotations

import streamlit as st

from app.access import service as access
from app.core.db import session_scope
from app.identity.service import SessionUser


def client_address() -> str:
    """The requester's address from this request (TRUSTED_PROXY_HOPS decides how far to trust
    X-Forwarded-For; see app/access/service.client_address)."""
    try:
        headers = dict(st.context.headers or {})
    except Exception:  # noqa: BLE001 - no request context (tests, scripts)
        headers = {}
    try:
        ip = st.context.ip_address
    except Exception:  # noqa: BLE001 - not available in every runtime
        ip = None
    return access.client_address(headers, ip)


def must_set_new_password(user: SessionUser) -> bool:
    """True while an approved password reset waits for this user's new password."""
    with session_scope(system=True, readonly=True) as session:
        return access.must_set_new_password(session, user_id=user.id)
