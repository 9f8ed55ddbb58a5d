"""My homework (students, read-only): what to hand in and by when, then what was handed in,
with marks and the teacher's comments."""

import streamlit as st

from app.core import clock
from app.core.errors import NotFound
from app.core.roles import Role
from app.coursework import service as coursework
from app.ui import auth
from app.ui.components import read
from app.ui.safe import esc, markup

user, actor = auth.guard(Role.STUDENT)
today = clock.today_in(user.institute_timezone)
st.title("My homework")
try:
    items = read(actor, coursework.my_homework)
except NotFound as exc:
    st.info(exc.message)
    st.stop()

to_do = [h for h in items if h.open]
done = [h for h in items if not h.open]
STATUS = {
    "submitted": ":green[handed in]",
    "graded": ":green[marked]",
    "late": ":orange[handed in late]",
    "missing": ":red[missing]",
}
st.subheader(f"To hand in ({len(to_do)})")
if not to_do:
    st.caption("Nothing to hand in.")
for h in to_do:
    due = "today" if h.due_on == today else f"{h.due_on:%a %d %b}"
    with st.container(border=True):
        st.markdown(
            f"**{esc(h.title)}** · due {esc(due)}  \n{esc(h.subject)} · {esc(h.batch)}"
            + (f" · {esc(h.topic)}" if h.topic else "")
        )
        if h.instructions:
            st.text(h.instructions)
st.subheader("Handed in and past")
if not done:
    st.caption("Nothing yet.")
for h in done:
    marks = (
        f" · {h.marks:g}/{h.max_marks:g}"
        if h.marks is not None and h.max_marks
        else (f" · {h.marks:g} marks" if h.marks is not None else "")
    )
    st.markdown(
        f"**{esc(h.title)}** · {esc(h.batch)} · due {h.due_on:%d %b} · "
        f"{markup(STATUS.get(h.status, esc(h.status)))}"
        + (" (late)" if h.status == "graded" and not h.on_time else "")
        + marks
    )
    if h.comment:
        st.caption(f"Teacher: {esc(h.comment)}")
