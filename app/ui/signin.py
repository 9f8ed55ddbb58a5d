"""The sign-in screen: Google, password, a Telegram code, and (development only) dev sign-in."""

from __future__ import annotations

import streamlit as st

from app.core.db import session_scope
from app.core.errors import AccessRevoked, DomainError
from app.identity import credentials, otp
from app.identity import service as identity
from app.integrations import telegram
from app.ui import access_gate, auth
from app.ui.safe import esc

OTP_PHONE = "cohort_otp_phone"


def render() -> None:
    st.title("Cohort")
    st.caption("Attendance, fees, coursework and progress for your institute.")
    message = st.session_state.pop(auth.MESSAGE, None)
    if message:
        (st.info if message == auth.SIGNED_OUT else st.error)(message)

    token = st.query_params.get("set_password")
    if token:
        _set_password(token)
        return

    choices = st.session_state.get(auth.CHOICES)
    if choices:
        _choose_institute(choices)
        return

    if auth.oidc_identity() is not None:
        st.caption(
            f"Signed in at your identity provider as {esc(auth.oidc_identity().get('email') or 'an unknown user')}."
        )
        if st.button("Sign out", key="oidc_sign_out"):
            auth.sign_out(None)
        return

    methods = []
    if auth.auth_configured():
        methods.append("Google")
    methods += ["Password", "Telegram code"]
    if auth.dev_sign_in_enabled():
        methods.append("Dev sign-in")
    tabs = dict(zip(methods, st.tabs(methods), strict=True))
    if "Google" in tabs:
        with tabs["Google"]:
            st.write("Use the Google account your institute allowlisted.")
            if st.button(
                "Sign in with Google", key="google_sign_in", type="primary", icon=":material/login:"
            ):
                st.login()
    with tabs["Password"]:
        _password()
    with tabs["Telegram code"]:
        _telegram_code()
    if "Dev sign-in" in tabs:
        with tabs["Dev sign-in"]:
            _dev()


def _choose_institute(choices: dict) -> None:
    st.subheader("Choose an institute")
    labels = {f"{inst} — {role}": uid for uid, inst, role in choices["users"]}
    picked = st.radio(
        "You are on more than one institute's allowlist.", list(labels), key="institute_choice"
    )
    c1, c2 = st.columns(2)
    if c1.button("Continue", key="institute_continue", type="primary"):
        auth.start(labels[picked], method=choices["method"], claims=choices["claims"])
        st.rerun()
    if c2.button("Cancel", key="institute_cancel") and not auth.sign_out(None):
        st.rerun()


def _password() -> None:
    with st.form("password_sign_in"):
        identifier = st.text_input("Email or phone", key="pw_identifier")
        password = st.text_input("Password", type="password", key="pw_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    st.caption(
        "First time? Use the password link your admin sent you, or sign in with a Telegram code."
    )
    if submitted:
        with session_scope(system=True) as session:
            outcome = credentials.sign_in_with_password(
                session, identifier=identifier, password=password, source=auth.source()
            )
        if auth.complete_sign_in(outcome, method="password"):
            st.rerun()
        elif outcome.error:
            st.session_state.pop(auth.MESSAGE, None)
            st.error(outcome.error)
        else:
            st.rerun()


def _telegram_code() -> None:
    phone = st.session_state.get(OTP_PHONE)
    if not phone:
        with st.form("otp_request"):
            typed = st.text_input("Phone", key="otp_phone_input", placeholder="98765 43210")
            asked = st.form_submit_button("Send me a code", type="primary")
        if asked:
            with session_scope(system=True) as session:
                result = otp.request_code(
                    session,
                    phone=typed,
                    source=auth.source(),
                    client=access_gate.client_address(),
                )
            if result.sent:
                st.session_state[OTP_PHONE] = typed
                st.rerun()
            st.error(result.error)
        if not telegram.configured():
            st.caption("Telegram is not configured here: codes are written to the server log.")
        return
    # The same words for every number: whether it may sign in is not told here.
    st.success(
        "If this number may sign in to Cohort, a code is on its way to the Telegram chat "
        "linked to it. No code within a minute? Ask your institute's admin."
    )
    with st.form("otp_verify"):
        code = st.text_input("6-digit code", max_chars=6, key="otp_code_input")
        verify = st.form_submit_button("Sign in", type="primary")
    if verify:
        with session_scope(system=True) as session:
            outcome = otp.verify_code(session, phone=phone, code=code, source=auth.source())
        if auth.complete_sign_in(outcome, method="telegram_code"):
            st.session_state.pop(OTP_PHONE, None)
            st.rerun()
        elif outcome.error:
            st.session_state.pop(auth.MESSAGE, None)
            st.error(outcome.error)
        else:
            st.session_state.pop(OTP_PHONE, None)
            st.rerun()
    if st.button("Use another phone or send a new code", key="otp_restart"):
        st.session_state.pop(OTP_PHONE, None)
        st.rerun()


def _set_password(token: str) -> None:
    with session_scope(system=True) as session:
        name, error = credentials.describe_link(session, token=token)
    if error:
        st.error(error)
        if st.button("Go to sign-in", key="link_back"):
            st.query_params.clear()
            st.rerun()
        return
    st.subheader(f"Welcome, {esc(name)}: choose your password")
    st.caption("At least 8 characters. A long phrase you can remember is best.")
    with st.form("set_password"):
        password = st.text_input("New password", type="password", key="new_password")
        confirm = st.text_input("Repeat it", type="password", key="confirm_password")
        submitted = st.form_submit_button("Set password and sign in", type="primary")
    if submitted:
        try:
            with session_scope(system=True) as session:
                user_id = credentials.set_password_with_link(
                    session, token=token, password=password, confirm=confirm, source=auth.source()
                )
        except DomainError as exc:
            st.error(exc.message)
            return
        st.query_params.clear()
        auth.start(user_id, method="password")
        st.rerun()


def _dev() -> None:
    st.warning(
        "Dev sign-in is on: APP_ENV=dev with DEV_SIGN_IN (on by default in development), on a "
        "server listening on this machine only. Anyone who can open this page here can sign in "
        "as any user. Set DEV_SIGN_IN=0 to turn it off; it never exists in production."
    )
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
            except AccessRevoked as exc:
                st.error(exc.message)
                return
        auth.start(labels[picked], method="dev")
        st.rerun()
