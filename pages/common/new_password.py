"""Choose a new password: shown instead of everything else after an admin approved a reset."""

import streamlit as st

from app.access import service as access
from app.core.roles import Role
from app.ui import auth
from app.ui.components import act, flash

user, actor = auth.guard(*Role)
st.title("Choose a new password")
st.info(
    "Your admin approved your password reset. Choose a new password to continue: at least 8 "
    "characters; a long phrase you can remember is best."
)
with st.form("new_password"):
    new = st.text_input("New password", type="password", key="np_new")
    confirm = st.text_input("Repeat it", type="password", key="np_confirm")
    submitted = st.form_submit_button("Save and continue", type="primary")
if submitted:
    if act(actor, access.set_new_password, new=new, confirm=confirm):
        flash("Your new password is saved.")
        st.rerun()
