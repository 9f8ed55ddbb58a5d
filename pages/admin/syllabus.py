"""Syllabus: subjects and their ordered topics."""

import streamlit as st

from app.academics import service as academics
from app.core.roles import Role
from app.ui import auth
from app.ui.components import act, flash, read, reset_widgets, show_flash, table

user, actor = auth.guard(Role.ADMIN)
st.title("Syllabus")
show_flash()
with st.form("new_subject"):
    c1, c2 = st.columns([3, 1])
    name = c1.text_input("New subject", key="subj_name")
    code = c2.text_input("Code", key="subj_code")
    if st.form_submit_button("Add subject") and act(
        actor, academics.create_subject, name=name, code=code
    ):
        flash(f"Added {name}.")
        reset_widgets("subj_name", "subj_code")
        st.rerun()
subjects = read(actor, academics.list_subjects)
if subjects:
    subject = st.selectbox("Subject", subjects, format_func=lambda s: s.name, key="syl_subject")
    topics = read(actor, academics.syllabus, subject_id=subject.id)
    table(
        [
            {
                "#": t.position,
                "Topic": t.name,
                "Minutes": t.estimated_minutes,
                "Difficulty": t.difficulty,
            }
            for t in topics
        ],
        key="topics_table",
    )
    with st.form("new_topic"):
        c1, c2, c3 = st.columns([3, 1, 1])
        topic = c1.text_input("New topic", key="topic_name")
        minutes = c2.number_input("Minutes", min_value=5, value=60, key="topic_minutes")
        difficulty = c3.number_input(
            "Difficulty 1–5", min_value=1, max_value=5, value=3, key="topic_difficulty"
        )
        if st.form_submit_button("Add topic") and act(
            actor,
            academics.add_topic,
            subject_id=subject.id,
            name=topic,
            estimated_minutes=int(minutes),
            difficulty=int(difficulty),
        ):
            flash(f"Added {topic}.")
            reset_widgets("topic_name")
            st.rerun()
