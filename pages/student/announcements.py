"""Announcements (students, read-only): the institute's and their batches', newest first."""

import streamlit as st

from app.core.errors import NotFound
from app.core.roles import Role
from app.notify import service as notify
from app.ui import auth
from app.ui.components import read
from app.ui.safe import esc

user, actor = auth.guard(Role.STUDENT)
st.title("Announcements")
try:
    items = read(actor, notify.my_announcements)
except NotFound as exc:
    st.info(exc.message)
    st.stop()
if not items:
    st.caption("No announcements yet.")
for a, batch in items:
    with st.container(border=True):
        st.markdown(f"**{esc(a.title)}**")
        st.caption(f"{a.created_at:%d %b %Y} · {esc(batch or 'Whole institute')}")
        st.text(a.body)
