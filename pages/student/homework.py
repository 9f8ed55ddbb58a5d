"""My homework (students): what to hand in and by when, handing it in (text and files, which
can be replaced until the teacher marks it), then what was handed in, with marks and the
teacher's comments."""

from zoneinfo import ZoneInfo

import streamlit as st

from app.core import clock
from app.core.errors import NotFound
from app.core.roles import Role
from app.coursework import service as coursework
from app.coursework.models import SubmissionStatus
from app.materials import service as materials
from app.ui import auth
from app.ui.components import act, flash, read, show_flash
from app.ui.safe import esc, markup

user, actor = auth.guard(Role.STUDENT)
today = clock.today_in(user.institute_timezone)
st.title("My homework")
show_flash()
try:
    items = read(actor, coursework.my_homework)
except NotFound as exc:
    st.info(exc.message)
    st.stop()

EXTENSIONS, MAX_MB = materials.upload_rules()


def hand_in_form(h: coursework.MyHomework) -> None:
    """Hand in (or replace what was handed in) until the teacher marks it."""
    mine = read(actor, coursework.my_hand_in, homework_id=h.id)
    if mine is not None and mine.handed_in_at is not None:
        st.caption(
            f"Handed in {mine.handed_in_at.astimezone(tz):%d %b, %H:%M}"
            + (" (late)" if mine.late else "")
            + (f" · {esc(mine.times)} times" if mine.times > 1 else "")
            + "; you can replace it until your teacher marks it."
        )
        if mine.text:
            st.text(mine.text)
        for f in mine.files:
            st.download_button(
                f"{esc(f.name)} ({f.size_bytes / 1024:.0f} KB)",
                data=read(actor, coursework.download_hand_in, file_id=f.id)[2],
                file_name=f.name,
                mime=f.content_type,
                key=f"hi_file_{f.id}",
            )
    label = "Replace what you handed in" if mine and mine.handed_in_at else "Hand in"
    with st.expander(label), st.form(f"hand_in_{h.id}", clear_on_submit=True):
        text = st.text_area("Your answer", max_chars=coursework.MAX_TEXT, key=f"hi_text_{h.id}")
        uploads = st.file_uploader(
            f"Files (up to {coursework.MAX_FILES}, {MAX_MB} MB each)",
            type=EXTENSIONS,
            accept_multiple_files=True,
            key=f"hi_files_{h.id}",
        )
        if st.form_submit_button(label, type="primary") and act(
            actor,
            coursework.hand_in,
            homework_id=h.id,
            text=text,
            files=[(u.name, u.getvalue()) for u in uploads or []],
        ):
            flash(f"Handed in {h.title}.")
            st.rerun()


tz = ZoneInfo(user.institute_timezone)
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
        hand_in_form(h)
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
    if h.status != SubmissionStatus.GRADED:
        hand_in_form(h)
