"""Assessments: create one for a batch, enter the whole batch's marks in one table, move one
student's sitting to another date; admins also keep the grade scale."""

from datetime import date, datetime

import pandas as pd
import streamlit as st

from app.academics import service as academics
from app.core import clock
from app.core.roles import Role
from app.core.text import plural
from app.coursework import service as coursework
from app.coursework.models import AssessmentKind
from app.ui import auth
from app.ui.components import act, flash, read, reset_widgets, show_flash, table

EDITABLE = {"Marks": "marks", "Absent": "absent", "Feedback": "feedback"}


def _plain(value):
    """A table cell as a plain Python value (NaN and empty text are no value)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return value.date()
    if isinstance(value, str) and not value.strip():
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


user, actor = auth.guard(Role.TEACHER, Role.ADMIN)
st.title("Assessments")
show_flash()
batches = read(actor, academics.list_batches)
if not batches:
    st.info("You teach no batches yet." if actor.role == Role.TEACHER else "Create a batch first.")
    st.stop()
batch = st.selectbox(
    "Batch", batches, format_func=lambda b: f"{b.name} · {b.subject}", key="as_batch"
)
today: date = clock.today_in(user.institute_timezone)
assessments = read(actor, coursework.list_assessments, batch_id=batch.id)

with st.expander("New assessment", expanded=not assessments):
    subjects = read(actor, academics.list_subjects) or []
    own = next((i for i, x in enumerate(subjects) if x.id == batch.subject_id), 0)
    subject = st.selectbox(
        "Subject",
        subjects,
        index=own,
        format_func=lambda x: x.name,
        key="as_subject",
        help="Defaults to the batch's subject; the topics below follow the choice.",
    )
    topics = read(
        actor,
        coursework.batch_topics,
        batch_id=batch.id,
        subject_id=subject.id if subject else None,
    )
    with st.form("new_assessment"):
        c1, c2 = st.columns([1, 2])
        kind = c1.selectbox(
            "Kind", [k.value for k in AssessmentKind], format_func=str.capitalize, key="as_kind"
        )
        title = c2.text_input("Title", key="as_title", placeholder="Unit test 2")
        c3, c4, c5 = st.columns(3)
        max_marks = c3.number_input(
            "Maximum marks", min_value=0.0, value=100.0, step=1.0, key="as_max"
        )
        held_on = c4.date_input("Held on", value=today, key="as_held")
        topic = c5.selectbox(
            "Topic (optional)",
            [None] + topics,
            format_func=lambda t: "Whole subject" if t is None else f"{t.position}. {t.name}",
            key="as_topic",
        )
        if st.form_submit_button("Create assessment", type="primary"):
            created = act(
                actor,
                coursework.create_assessment,
                batch_id=batch.id,
                kind=kind,
                title=title,
                max_marks=max_marks,
                held_on=held_on,
                subject_id=subject.id if subject else None,
                topic_id=topic.id if topic else None,
            )
            if created:
                reset_widgets("as_title")
                flash(f"Created {created.title} for {batch.name} on {created.held_on:%d %b %Y}.")
                st.rerun()

if assessments:
    table(
        [
            {
                "Date": a.held_on,
                "Kind": a.kind.capitalize(),
                "Title": a.title,
                "Topic": a.topic or "",
                "Max": a.max_marks,
                "Marks in": f"{a.entered}/{a.students}",
                "Absent": a.absent,
                "Mean %": a.mean_percent,
            }
            for a in assessments
        ],
        key="as_list",
    )

    st.subheader("Marks")
    chosen = st.selectbox(
        "Assessment",
        assessments,
        format_func=lambda a: f"{a.title} · {a.kind} · {a.held_on:%d %b %Y}",
        key="as_pick",
    )
    sheet = read(actor, coursework.assessment_sheet, assessment_id=chosen.id)
    held = sheet.assessment.held_on
    if not sheet.rows:
        st.caption("Nobody was in the batch when this assessment was created.")
    else:
        st.caption(
            f"Out of {sheet.assessment.max_marks:g}. Percent and grade follow when you save; "
            "tick Absent for a student who did not sit it."
        )
        original = pd.DataFrame(
            [
                {
                    "student_id": r.student_id,
                    "Student": r.student,
                    "Enrollment": r.enrollment_no,
                    "Sits on": r.scheduled_on or held,
                    "Marks": r.marks,
                    "Absent": r.absent,
                    "Percent": r.percentage,
                    "Grade": r.grade or "",
                    "Feedback": r.feedback or "",
                }
                for r in sheet.rows
            ]
        ).set_index("student_id")
        original["Marks"] = original["Marks"].astype("float")
        original["Percent"] = original["Percent"].astype("float")
        editor_key = f"as_marks_{chosen.id}"
        edited = st.data_editor(
            original,
            key=editor_key,
            hide_index=True,
            width="stretch",
            disabled=["Student", "Enrollment", "Sits on", "Percent", "Grade"],
            column_config={
                "Sits on": st.column_config.DateColumn("Sits on", format="DD MMM YYYY"),
                "Marks": st.column_config.NumberColumn("Marks", min_value=0.0, step=0.5),
                "Absent": st.column_config.CheckboxColumn("Absent"),
                "Percent": st.column_config.NumberColumn("Percent", format="%.2f%%"),
                "Feedback": st.column_config.TextColumn("Feedback", max_chars=1000),
            },
        )
        if st.button("Save marks", type="primary", key="as_save"):
            changes = []
            for student_id, row in edited.iterrows():
                before = original.loc[student_id]
                if any(_plain(row[c]) != _plain(before[c]) for c in EDITABLE):
                    changes.append(
                        {"student_id": int(student_id)}
                        | {field: _plain(row[column]) for column, field in EDITABLE.items()}
                    )
            for change in changes:
                change["absent"] = bool(change["absent"])
            if not changes:
                st.info("Nothing changed.")
            else:
                saved = act(actor, coursework.enter_marks, assessment_id=chosen.id, rows=changes)
                if saved is not None:
                    reset_widgets(editor_key)
                    flash(f"Saved the marks of {chosen.title}: {plural(saved, 'student')} updated.")
                    st.rerun()

        with st.form("schedule_sitting"):
            st.markdown("**Another date for one student** (a make-up or an early sitting)")
            s1, s2 = st.columns(2)
            who = s1.selectbox(
                "Student", sheet.rows, format_func=lambda r: r.student, key="as_sit_student"
            )
            when = s2.date_input("Sits on", value=today, key="as_sit_date")
            if st.form_submit_button("Schedule sitting") and act(
                actor,
                coursework.schedule_sitting,
                assessment_id=chosen.id,
                student_id=who.student_id,
                scheduled_on=when,
            ):
                flash(f"{who.student} sits {chosen.title} on {when:%d %b %Y}.")
                st.rerun()
else:
    st.caption("No assessments for this batch yet.")

with st.expander("Grade scale"):
    scale = read(actor, coursework.grade_scale)
    if actor.role != Role.ADMIN:
        table([{"Grade": g, "From %": m} for g, m in scale], key="as_scale")
    else:
        st.caption(
            "A result at or above a band's percent gets its grade. The lowest band starts at 0. "
            "Saving re-grades results already entered."
        )
        bands = st.data_editor(
            pd.DataFrame([{"Grade": g, "From %": float(m)} for g, m in scale]),
            key="as_scale_editor",
            hide_index=True,
            num_rows="dynamic",
            column_config={
                "Grade": st.column_config.TextColumn("Grade", max_chars=10),
                "From %": st.column_config.NumberColumn("From %", min_value=0.0, max_value=100.0),
            },
        )
        if st.button("Save grade scale", key="as_scale_save") and act(
            actor,
            coursework.set_grade_scale,
            bands=[(_plain(r["Grade"]), _plain(r["From %"])) for _, r in bands.iterrows()],
        ):
            reset_widgets("as_scale_editor")
            flash("Grade scale saved.")
            st.rerun()
