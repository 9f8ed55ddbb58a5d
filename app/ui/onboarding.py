"""The onboarding screen, shown instead of every other page until the current consent is accepted."""

from __future__ import annotations

import streamlit as st

from app.identity import onboarding
from app.ui import auth
from app.ui.components import act
from app.ui.safe import esc


def render() -> None:
    user, actor = auth.guard(onboarding=True)
    st.title("Welcome to Cohort")
    if user.consent_version:
        st.info(
            "How Cohort uses your data has changed. Please read and accept the new version to continue."
        )
    else:
        st.caption(
            f"{esc(user.institute_name or 'Cohort')} · {esc(user.role.label)}. Please confirm your details."
        )
    with st.form("onboarding"):
        name = st.text_input("Your name", value=user.name, key="onb_name")
        phone = st.text_input("Your phone", value=user.phone or "", key="onb_phone")
        st.markdown(onboarding.CONSENT_TEXT)
        accept = st.checkbox("I have read this and I agree", key="onb_accept")
        submitted = st.form_submit_button("Continue", type="primary")
    if submitted and act(
        actor,
        onboarding.complete_onboarding,
        name=name,
        phone=phone,
        accept=accept,
        version=onboarding.CONSENT_VERSION,
    ):
        st.rerun()
    if st.button("Sign out", key="onb_sign_out") and not auth.sign_out():
        st.rerun()
