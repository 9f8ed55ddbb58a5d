"""The sign-in screen."""

from __future__ import annotations

import streamlit as st

from app.core.db import session_scope
from app.identity import service as identity
from app.ui import auth


def render() -> None:
    st.title("Cohort")
    st.caption("Attendance, fees, coursework and progress for your institute.")
    message = st.session_state.pop(auth.MESSAGE, None)
    if message:
        (st.info if message == "You have signed out." else st.error)(message)

    choices = st.session_state.get(auth.CHOICES)
    if choices:
        st.subheader("Choose an institute")
        labels = {f"{inst} — {role}": uid for uid, inst, role in choices}
        picked = st.radio(
            "Your email is allowlisted in more than one institute.",
            list(labels),
            key="institute_choice",
        )
        if st.button("Continue", key="institute_continue", type="primary"):
            auth.sign_in_as(labels[picked], method="oidc")
            st.rerun()
        return

    if auth.oidc_identity() is not None:
        # Signed in at the provider but refused here: offer a way out.
        if st.button("Sign out", key="oidc_sign_out"):
            auth.sign_out()
        return

    if auth.auth_configured() and st.button(
        "Sign in with Google", key="google_sign_in", type="primary", icon=":material/login:"
    ):
        st.login()

    if auth.dev_sign_in_enabled():
        st.divider()
        st.subheader("Dev sign-in")
        st.caption("Development mode only: sign in as any seeded user. Absent in production.")
        with session_scope(system=True) as session:
            candidates = identity.dev_sign_in_candidates(session)
        if not candidates:
            st.info(
                "No users yet. Seed the demo data: `uv run python scripts/seed_demo.py --size small`."
            )
            return
        labels = {label: uid for uid, label in candidates}
        picked = st.selectbox("Sign in as", list(labels), key="dev_user")
        if st.button("Sign in", key="dev_sign_in", type="primary"):
            with session_scope(system=True) as session:
                try:
                    identity.load_session_user(session, user_id=labels[picked])
                except identity.AccessRevoked as exc:
                    st.error(exc.message)
                    return
            auth.sign_in_as(labels[picked], method="dev")
            st.rerun()
    elif not auth.auth_configured():
        st.warning(
            "No sign-in method is configured. Add an [auth] block to .streamlit/secrets.toml."
        )
