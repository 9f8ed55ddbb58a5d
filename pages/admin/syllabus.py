"""Syllabus: subjects and their ordered topics — add, rename, reorder, archive, codes, objectives
and prerequisites."""

import streamlit as st

from app.academics import service as academics
from app.core.roles import Role
from app.ui import auth
from app.ui.components import act, flash, read, reset_widgets, show_flash, table
from app.ui.safe import esc

user, actor = auth.guard(Role.ADMIN)
st.title("Syllabus")
show_flash()
with st.form("new_subject"):
    c1, c2 = st.columns([3, 1])
    name = c1.text_input("New subject", key="subj_name")
    code = c2.text_input("Code", key="subj_code", help="Unique in the institute, such as MAT")
    if st.form_submit_button("Add subject") and act(
        actor, academics.create_subject, name=name, code=code
    ):
        flash(f"Added {name}.")
        reset_widgets("subj_name", "subj_code")
        st.rerun()
subjects = read(actor, academics.list_subjects, include_archived=True)
if not subjects:
    st.stop()


def _subject_label(s) -> str:
    return s.name + (f" ({s.code})" if s.code else "") + (" · archived" if s.archived_at else "")


by_id = {s.id: s for s in subjects}  # ids as options: a rename keeps the choice
subject = by_id[
    st.selectbox(
        "Subject", list(by_id), format_func=lambda i: _subject_label(by_id[i]), key="syl_subject"
    )
]
with st.form(f"edit_subject_{subject.id}"):
    c1, c2 = st.columns([3, 1])
    new_name = c1.text_input("Subject name", value=subject.name, key=f"subj_rename_{subject.id}")
    new_code = c2.text_input(
        "Subject code", value=subject.code or "", key=f"subj_code_{subject.id}"
    )
    if st.form_submit_button("Save subject") and act(
        actor, academics.update_subject, subject_id=subject.id, name=new_name, code=new_code
    ):
        flash(f"Saved {new_name}.")
        st.rerun()
if subject.archived_at is None:
    if st.button(
        "Archive subject",
        key="subj_archive",
        help="Hidden from pickers; its topics, attendance and marks are kept.",
    ) and act(actor, academics.archive_subject, subject_id=subject.id):
        flash(f"Archived {subject.name}.")
        st.rerun()
elif st.button("Restore subject", key="subj_restore") and act(
    actor, academics.archive_subject, subject_id=subject.id, archived=False
):
    flash(f"Restored {subject.name}.")
    st.rerun()

topics = read(actor, academics.syllabus, subject_id=subject.id, include_archived=True)
names = {t.id: t.name for t in topics}
table(
    [
        {
            "#": n,
            "Topic": t.name,
            "Minutes": t.estimated_minutes,
            "Difficulty": t.difficulty,
            "Needs": ", ".join(names.get(p, "?") for p in (t.prerequisites or [])),
            "Objectives": t.objectives or "",
            "Archived": t.archived_at is not None,
        }
        for n, t in enumerate(topics, start=1)
    ],
    key="topics_table",
    empty="No topics yet: add the first below.",
)

if topics:
    st.subheader("Edit a topic")
    topic_by_id = {t.id: t for t in topics}
    topic = topic_by_id[
        st.selectbox(
            "Topic",
            list(topic_by_id),
            format_func=lambda i: (
                topic_by_id[i].name + (" · archived" if topic_by_id[i].archived_at else "")
            ),
            key="syl_topic",
        )
    ]
    b1, b2, b3 = st.columns(3)
    if b1.button("Move up", key="topic_up", icon=":material/arrow_upward:") and act(
        actor, academics.move_topic, topic_id=topic.id, by=-1
    ):
        st.rerun()
    if b2.button("Move down", key="topic_down", icon=":material/arrow_downward:") and act(
        actor, academics.move_topic, topic_id=topic.id, by=1
    ):
        st.rerun()
    if topic.archived_at is None:
        if b3.button(
            "Archive topic",
            key="topic_archive",
            help="No longer offered on the attendance sheet; its history is kept.",
        ) and act(actor, academics.archive_topic, topic_id=topic.id):
            flash(f"Archived {topic.name}.")
            st.rerun()
    elif b3.button("Restore topic", key="topic_restore") and act(
        actor, academics.archive_topic, topic_id=topic.id, archived=False
    ):
        flash(f"Restored {topic.name}.")
        st.rerun()
    choices = [
        t.id
        for t in topics
        if t.id != topic.id and (t.archived_at is None or t.id in (topic.prerequisites or []))
    ]
    with st.form(f"edit_topic_{topic.id}"):
        c1, c2, c3 = st.columns([3, 1, 1])
        t_name = c1.text_input("Topic name", value=topic.name, key=f"t_name_{topic.id}")
        t_minutes = c2.number_input(
            "Minutes", min_value=5, value=topic.estimated_minutes, key=f"t_min_{topic.id}"
        )
        t_difficulty = c3.number_input(
            "Difficulty 1–5",
            min_value=1,
            max_value=5,
            value=topic.difficulty,
            key=f"t_diff_{topic.id}",
        )
        t_objectives = st.text_area(
            "Objectives",
            value=topic.objectives or "",
            max_chars=2000,
            help="What a student can do after this topic.",
            key=f"t_obj_{topic.id}",
        )
        t_needs = st.multiselect(
            "Prerequisites",
            choices,
            default=[p for p in (topic.prerequisites or []) if p in choices],
            format_func=lambda i: names.get(i, "?"),
            help="Topics a batch must have covered before this one is suggested.",
            key=f"t_needs_{topic.id}",
        )
        if st.form_submit_button("Save topic") and act(
            actor,
            academics.update_topic,
            topic_id=topic.id,
            name=t_name,
            estimated_minutes=int(t_minutes),
            difficulty=int(t_difficulty),
            objectives=t_objectives,
            prerequisites=t_needs,
        ):
            flash(f"Saved {t_name}.")
            st.rerun()

st.subheader("New topic")
live = [t.id for t in topics if t.archived_at is None]
with st.form("new_topic"):
    c1, c2, c3 = st.columns([3, 1, 1])
    topic_name = c1.text_input("New topic", key="topic_name")
    minutes = c2.number_input("Minutes", min_value=5, value=60, key="topic_minutes")
    difficulty = c3.number_input(
        "Difficulty 1–5", min_value=1, max_value=5, value=3, key="topic_difficulty"
    )
    objectives = st.text_area("Objectives", max_chars=2000, key="topic_objectives")
    needs = st.multiselect(
        "Prerequisites", live, format_func=lambda i: names.get(i, "?"), key="topic_needs"
    )
    if st.form_submit_button("Add topic") and act(
        actor,
        academics.add_topic,
        subject_id=subject.id,
        name=topic_name,
        estimated_minutes=int(minutes),
        difficulty=int(difficulty),
        objectives=objectives,
        prerequisites=needs,
    ):
        flash(f"Added {topic_name}.")
        reset_widgets("topic_name", "topic_objectives", "topic_needs")
        st.rerun()
st.caption(f"{esc(subject.name)}: topics are never deleted; archive one to stop offering it.")
