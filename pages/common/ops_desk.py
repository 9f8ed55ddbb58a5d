"""Ops desk (admin, teacher, counselor): plain requests in a chat. The desk shows exactly what
it will do and acts only after Confirm, through the same services as the other pages."""

import streamlit as st

from app.core.roles import Role
from app.opsdesk import service as desk
from app.opsdesk.models import DeskStatus
from app.ui import auth
from app.ui.components import act, read, table

STATUS_NOTE = {
    DeskStatus.DONE.value: "Confirmed.",
    DeskStatus.CANCELLED.value: "Cancelled.",
    "expired": "Replaced by a newer request.",
    "failed": "Confirmed, but refused.",
}

user, actor = auth.guard(Role.ADMIN, Role.TEACHER, Role.COUNSELOR)
st.title("Ops desk")
st.caption(
    "Ask in plain words — for example “record payment 5000 for ADM-001 by UPI ref 1234”. "
    "The desk shows what it will do; nothing happens until you press Confirm. "
    "Type “help” to see everything it can do."
)

messages = read(actor, desk.history)
if not messages:
    with st.chat_message("assistant"):
        st.markdown(desk.help_text(actor.role))
pending = next((m.id for m in reversed(messages) if m.status == DeskStatus.PENDING), None)
for m in messages:
    with st.chat_message("user" if m.author == "user" else "assistant"):
        if m.author == "user":
            st.text(m.text)  # what was typed, shown as typed
        elif m.kind == "error":
            st.error(m.text)
        else:
            st.markdown(m.text)
        if m.rows:
            table(m.rows, key=f"desk_rows_{m.id}")
        if m.kind == "preview" and m.id == pending:
            yes, no, _ = st.columns([1, 1, 4])
            if yes.button("Confirm", key=f"desk_confirm_{m.id}", type="primary"):
                if act(actor, desk.confirm, message_id=m.id) is not None:
                    st.rerun()
            if no.button("Cancel", key=f"desk_cancel_{m.id}"):
                if act(actor, desk.cancel, message_id=m.id) is not None:
                    st.rerun()
        elif m.kind == "preview" and m.status in STATUS_NOTE:
            st.caption(STATUS_NOTE[m.status])

prompt = st.chat_input("Ask the desk…", key="desk_input", max_chars=2000)
if prompt:
    with st.spinner("Working it out…"):
        answered = act(actor, desk.ask, text=prompt)
    if answered is not None:
        st.rerun()
