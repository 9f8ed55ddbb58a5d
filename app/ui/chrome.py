"""The frame around every signed-in page: who you are, where, and sign-out."""

from __future__ import annotations

import streamlit as st

from app.identity.service import SessionUser
from app.ui import auth


def sidebar(user: SessionUser) -> None:
    with st.sidebar:
        st.markdown(f"**{user.name}**")
        st.caption(f"{user.role.label} · {user.institute_name or 'All institutes'}")
        if st.button("Sign out", key="sign_out", icon=":material/logout:"):
            auth.sign_out("You have signed out.")
            st.rerun()
