"""My account (every role): who you are here, and your name and phone."""

import streamlit as st

from app.core.roles import Role
from app.identity import service as identity
from app.ui import auth
from app.ui.components import act, flash, show_flash

user, actor = auth.guard(*Role)
st.title("My account")
show_flash()

c1, c2 = st.columns(2)
c1.markdown(f"**Role**  \n{user.role.label}")
c2.markdown(f"**Institute**  \n{user.institute_name or 'All institutes'}")
c1.markdown(f"**Email**  \n{user.email or '—'}")
c2.markdown(f"**Phone**  \n{user.phone or '—'}")

with st.form("my_account"):
    name = st.text_input("Name", value=user.name, key="me_name")
    phone = st.text_input("Phone", value=user.phone or "", key="me_phone")
    if st.form_submit_button("Save", type="primary"):
        if act(actor, identity.update_my_account, name=name, phone=phone):
            flash("Saved.")
            st.rerun()
