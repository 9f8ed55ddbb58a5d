"""Messages (every role): in-app notifications and announcements for the signed-in person."""

import streamlit as st

from app.core.roles import Role
from app.notify import service as notify
from app.ui import auth
from app.ui.components import act, read
from app.ui.safe import esc

user, actor = auth.guard(*[r for r in Role if r != Role.SUPER_ADMIN])
st.title("Messages")
messages = read(actor, notify.my_messages, limit=100)
if not messages:
    st.caption("No messages yet.")
if any(m.read_at is None for m in messages) and st.button("Mark all read", key="mark_all_read"):
    act(actor, notify.mark_read)
    st.rerun()
for m in messages:
    with st.container(border=True):
        st.markdown(f"**{esc(m.subject or 'Message')}**" + ("" if m.read_at else "  ·  :blue[new]"))
        st.caption(f"{m.created_at:%d %b %Y, %H:%M} UTC")
        st.text(m.text)
