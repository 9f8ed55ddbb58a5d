"""Announcements (admin, teacher): write one to the institute; see the latest."""

import streamlit as st

from app.core.roles import Role
from app.notify import service as notify
from app.ui import auth
from app.ui.components import act, flash, read, reset_widgets, show_flash, table

user, actor = auth.guard(Role.ADMIN, Role.TEACHER)
st.title("Announcements")
show_flash()
with st.form("announce"):
    title = st.text_input("Title", key="ann_title")
    body = st.text_area("Message", key="ann_body")
    st.caption(
        "Goes to everyone in the institute: in the app, and by Telegram to those with a linked chat."
    )
    if st.form_submit_button("Announce", type="primary"):
        made = act(actor, notify.announce, title=title, body=body)
        if made:
            flash(f"Announced to {made.recipients} people.")
            reset_widgets("ann_title", "ann_body")
            st.rerun()
table(
    [
        {"When (UTC)": a.created_at, "Title": a.title, "Recipients": a.recipients}
        for a in read(actor, notify.list_announcements)
    ],
    key="announcements",
)
