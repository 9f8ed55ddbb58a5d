"""Announcements (admin, teacher): to a batch or the whole institute; see the latest."""

import streamlit as st

from app.academics import service as academics
from app.core.roles import Role
from app.core.text import plural
from app.notify import service as notify
from app.ui import auth
from app.ui.components import act, flash, read, reset_widgets, show_flash, table

user, actor = auth.guard(Role.ADMIN, Role.TEACHER)
st.title("Announcements")
show_flash()
batches = read(actor, academics.list_batches)
audiences = ([None] if actor.role == Role.ADMIN else []) + [b.id for b in batches]
names = {b.id: b.name for b in batches}
if not audiences:
    st.info("You have no batches to announce to yet.")
    st.stop()
with st.form("announce"):
    audience = st.selectbox(
        "To",
        audiences,
        format_func=lambda b: "The whole institute" if b is None else names[b],
        key="ann_audience",
    )
    title = st.text_input("Title", key="ann_title")
    body = st.text_area("Message", key="ann_body")
    st.caption(
        "Shown in the app to the students (and, for the whole institute, to staff); sent by Telegram "
        "to the students' guardians."
    )
    if st.form_submit_button("Announce", type="primary"):
        made = act(actor, notify.announce, title=title, body=body, batch_id=audience)
        if made:
            flash(f"Announced: {plural(made.recipients, 'message')} queued.")
            reset_widgets("ann_title", "ann_body")
            st.rerun()
table(
    [
        {
            "When (UTC)": a.created_at,
            "To": names.get(a.batch_id, "Whole institute") if a.batch_id else "Whole institute",
            "Title": a.title,
            "Messages": a.recipients,
        }
        for a in read(actor, notify.list_announcements)
    ],
    key="announcements",
)
