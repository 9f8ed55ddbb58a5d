"""Homework: set it for a batch, then mark the whole batch in one table and save once."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from app.academics import service as academics
from app.core import clock
from app.core.roles import Role
from app.core.text import plural
from app.coursework import service as coursework
from app.ui import auth
from app.ui.components import act, flash, read, reset_widgets, show_flash, table
from app.ui.safe import esc

STATUSES = ["assigned", "submitted", "late", "missing", "graded"]
EDITABLE = {
    "Status": "status",
    "Handed in on": "submitted_on",
    "Marks": "marks",
    "Comment": "comment",
}


def _plain(value):
    """A table cell as a plain Python value (NaN and empty text are no value)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return value.date()
    if isinstance(value, str) and not value.strip():
        return None
    return value


user, actor = auth.guard(Role.TEACHER, Role.ADMIN)
st.title("Homework")
show_flash()
batches = read(actor, academics.list_batches)
if not batches:
    st.info("You teach no batches yet." if actor.role == Role.TEACHER else "Create a batch first.")
    st.stop()
batch = st.selectbox(
    "Batch", batches, format_func=lambda b: f"{b.name} · {b.subject}", key="hw_batch"
)
today: date = clock.today_in(user.institute_timezone)
homework = read(actor, coursework.list_homework, batch_id=batch.id)

with st.expander("Set homework", expanded=not homework):
    topics = read(actor, coursework.batch_topics, batch_id=batch.id)
    with st.form("new_homework"):
        title = st.text_input("Title", key="hw_title", placeholder="Fractions worksheet 3")
        instructions = st.text_area("Instructions", key="hw_instructions")
        c1, c2 = st.columns(2)
        assigned_on = c1.date_input("Set on", value=today, key="hw_assigned")
        due_on = c2.date_input("Due on", value=today + timedelta(days=7), key="hw_due")
        c3, c4 = st.columns(2)
        topic = c3.selectbox(
            "Topic (optional)",
            [None] + topics,
            format_func=lambda t: "No particular topic" if t is None else f"{t.position}. {t.name}",
            key="hw_topic",
        )
        max_marks = c4.number_input(
            "Maximum marks (0 if not marked)", min_value=0.0, value=10.0, step=1.0, key="hw_max"
        )
        if st.form_submit_button("Set homework", type="primary"):
            created = act(
                actor,
                coursework.create_homework,
                batch_id=batch.id,
                title=title,
                instructions=instructions,
                assigned_on=assigned_on,
                due_on=due_on,
                topic_id=topic.id if topic else None,
                max_marks=max_marks or None,
            )
            if created:
                reset_widgets("hw_title", "hw_instructions")
                flash(f"Set {created.title} for {batch.name}, due {created.due_on:%d %b %Y}.")
                st.rerun()

if not homework:
    st.caption("No homework set for this batch yet.")
    st.stop()

table(
    [
        {
            "Title": h.title,
            "Set on": h.assigned_on,
            "Due": h.due_on,
            "Topic": h.topic or "",
            "Handed in": f"{h.handed_in}/{h.students}",
            "On time": h.on_time,
            "Missing": h.missing,
            "Graded": h.graded,
        }
        for h in homework
    ],
    key="hw_list",
)

st.subheader("Marking")
chosen = st.selectbox(
    "Homework to mark",
    homework,
    format_func=lambda h: f"{h.title} · due {h.due_on:%d %b %Y}",
    key="hw_pick",
)
tz = ZoneInfo(user.institute_timezone)
handed = read(actor, coursework.hand_ins, homework_id=chosen.id) or []
with st.expander(f"Handed in by students ({len(handed)})", expanded=bool(handed)):
    if not handed:
        st.caption("Nobody has handed this in through Cohort yet.")
    for h in handed:
        st.markdown(
            f"**{esc(h.student)}** · {h.handed_in_at.astimezone(tz):%d %b, %H:%M}"
            + (" · :orange[late]" if h.late else "")
            + (f" · handed in {esc(h.times)} times" if h.times > 1 else "")
            if h.handed_in_at
            else f"**{esc(h.student)}**"
        )
        if h.text:
            st.text(h.text)
        for f in h.files:
            st.download_button(
                f"{esc(f.name)} ({f.size_bytes / 1024:.0f} KB)",
                data=read(actor, coursework.download_hand_in, file_id=f.id)[2],
                file_name=f.name,
                mime=f.content_type,
                key=f"hw_file_{f.id}",
            )

sheet = read(actor, coursework.homework_marking, homework_id=chosen.id)
if not sheet.rows:
    st.caption("Nobody was in the batch when this homework was set.")
    st.stop()
graded = bool(sheet.homework.max_marks)
max_note = (
    f"marks out of {sheet.homework.max_marks:g}; marks make the work graded"
    if graded
    else "no marks for this one: say how it went in the comment"
)
st.caption(
    f"Due {sheet.homework.due_on:%d %b %Y} · {esc(max_note)}. Leave the date empty for work "
    "handed in on time. Save once for the whole batch."
)
original = pd.DataFrame(
    [
        {
            "student_id": r.student_id,
            "Student": r.student,
            "Enrollment": r.enrollment_no,
            "Status": r.status,
            "Handed in on": r.submitted_on,
            # "yes", "late", or nothing while it is not handed in (never a bare True/False/None)
            "On time": "yes" if r.on_time else "late" if r.submitted_on else "",
            "Marks": r.marks,
            "Comment": r.comment or "",
        }
        for r in sheet.rows
    ]
).set_index("student_id")
original["Marks"] = original["Marks"].astype("float")
editor_key = f"hw_marks_{chosen.id}"
edited = st.data_editor(
    original,
    key=editor_key,
    hide_index=True,
    width="stretch",
    disabled=["Student", "Enrollment", "On time"],
    column_config={
        "Status": st.column_config.SelectboxColumn("Status", options=STATUSES, required=True),
        "Handed in on": st.column_config.DateColumn("Handed in on", format="DD MMM YYYY"),
        "Marks": st.column_config.NumberColumn("Marks", min_value=0.0, step=0.5),
        "Comment": st.column_config.TextColumn("Comment", max_chars=1000),
    },
)
if st.button("Save marking", type="primary", key="hw_save"):
    changes = []
    for student_id, row in edited.iterrows():
        before = original.loc[student_id]
        if any(_plain(row[c]) != _plain(before[c]) for c in EDITABLE):
            changes.append(
                {"student_id": int(student_id)}
                | {field: _plain(row[column]) for column, field in EDITABLE.items()}
            )
    if not changes:
        st.info("Nothing changed.")
    else:
        saved = act(actor, coursework.mark_homework, homework_id=chosen.id, rows=changes)
        if saved is not None:
            reset_widgets(editor_key)
            flash(f"Saved the marking of {chosen.title}: {plural(saved, 'student')} updated.")
            st.rerun()
