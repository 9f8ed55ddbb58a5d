"""Draft with AI: ask the local model for homework questions or a short quiz on a topic, edit the
draft, and save it as real homework or a real quiz. Nothing is set until Save."""

from datetime import timedelta

import streamlit as st

from app.academics import service as academics
from app.core import clock
from app.core.roles import Role
from app.coursework import service as coursework
from app.drafting import prompts
from app.drafting import service as drafting
from app.ui import auth
from app.ui.components import act, flash, read, show_flash, table
from app.ui.safe import esc

DRAFT = "ai_draft_id"
KINDS = {"homework": "Homework questions", "quiz": "A short quiz (with answers for you)"}

user, actor = auth.guard(Role.TEACHER, Role.ADMIN)
st.title("Draft with AI")
show_flash()
if not drafting.enabled():
    st.info(drafting.OFF_MESSAGE)
    st.stop()
st.caption(
    "The local model writes a first draft from a topic; you edit it and save it as homework or "
    "a quiz. Nothing reaches students until you save. Every request is kept in the log below."
)
batches = read(actor, academics.list_batches)
if not batches:
    st.info("You teach no batches yet." if actor.role == Role.TEACHER else "Create a batch first.")
    st.stop()

c1, c2 = st.columns(2)
batch = c1.selectbox(
    "Batch", batches, format_func=lambda b: f"{b.name} · {b.subject}", key="ai_batch"
)
topics = read(actor, coursework.batch_topics, batch_id=batch.id)
if not topics:
    st.info(f"{esc(batch.subject)} has no topics yet; add them on the Syllabus page first.")
    st.stop()
topic = c2.selectbox(
    "Topic", topics, format_func=lambda t: f"{t.position}. {t.name}", key="ai_topic"
)
with st.form("ai_ask"):
    c3, c4 = st.columns([2, 1])
    kind = c3.radio(
        "What to draft", list(KINDS), format_func=KINDS.get, horizontal=True, key="ai_kind"
    )
    count = c4.number_input(
        "Questions",
        min_value=1,
        max_value=prompts.MAX_QUESTIONS,
        value=5,
        step=1,
        key="ai_count",
    )
    notes = st.text_input(
        "Notes for the model (optional)",
        key="ai_notes",
        placeholder="e.g. word problems about sharing food; no calculators",
    )
    if st.form_submit_button("Draft with AI", type="primary"):
        with st.spinner("Asking the local model…"):
            result = act(
                actor,
                drafting.request_draft,
                batch_id=batch.id,
                topic_id=topic.id,
                kind=kind,
                questions=int(count),
                notes=notes,
            )
        if result is not None:
            if result.ok:
                st.session_state[DRAFT] = result.id
            else:
                st.session_state.pop(DRAFT, None)
                st.error(result.error)

draft_id = st.session_state.get(DRAFT)
if draft_id is not None:
    draft = act(actor, drafting.get_draft, draft_id=draft_id)
    if draft is None:
        st.session_state.pop(DRAFT, None)
    else:
        today = clock.today_in(user.institute_timezone)
        target = next((b for b in batches if b.id == draft.batch_id), None)
        st.subheader(
            f"Draft: {esc(KINDS[draft.kind].split(' (')[0].lower())} on {esc(draft.topic)}"
        )
        st.caption(
            f"For {esc(target.name if target else 'the batch')}. Edit anything, then save; "
            "nothing is created until you do."
        )
        key = f"ai_{draft.id}"
        with st.form(f"{key}_edit"):
            title = st.text_input("Title", value=draft.title, key=f"{key}_title")
            if draft.kind == "homework":
                body = draft.instructions + "\n\n" if draft.instructions else ""
                instructions = st.text_area(
                    "Instructions and questions",
                    value=body + prompts.numbered(list(draft.questions)),
                    height=260,
                    key=f"{key}_instructions",
                )
                d1, d2, d3 = st.columns(3)
                assigned_on = d1.date_input("Set on", value=today, key=f"{key}_assigned")
                due_on = d2.date_input("Due on", value=today + timedelta(days=7), key=f"{key}_due")
                max_marks = d3.number_input(
                    "Maximum marks (0 if not marked)",
                    min_value=0.0,
                    value=draft.suggested_max_marks,
                    step=1.0,
                    key=f"{key}_max",
                )
                if st.form_submit_button("Save as homework", type="primary"):
                    saved = act(
                        actor,
                        drafting.save_as_homework,
                        draft_id=draft.id,
                        title=title,
                        instructions=instructions,
                        assigned_on=assigned_on,
                        due_on=due_on,
                        max_marks=max_marks or None,
                    )
                    if saved:
                        st.session_state.pop(DRAFT, None)
                        flash(
                            f"Set {saved.title} for {target.name if target else 'the batch'}, "
                            f"due {saved.due_on:%d %b %Y}. Mark it on the Homework page."
                        )
                        st.rerun()
            else:
                questions = st.text_area(
                    "Questions",
                    value=prompts.numbered(list(draft.questions)),
                    height=220,
                    key=f"{key}_questions",
                )
                answers = st.text_area(
                    "Answers (for you; students do not see them)",
                    value=prompts.numbered(list(draft.answers)),
                    height=180,
                    key=f"{key}_answers",
                )
                d1, d2 = st.columns(2)
                held_on = d1.date_input(
                    "Held on", value=today + timedelta(days=1), key=f"{key}_held"
                )
                max_marks = d2.number_input(
                    "Maximum marks",
                    min_value=0.0,
                    value=draft.suggested_max_marks,
                    step=1.0,
                    key=f"{key}_max",
                )
                if st.form_submit_button("Save as quiz", type="primary"):
                    saved = act(
                        actor,
                        drafting.save_as_quiz,
                        draft_id=draft.id,
                        title=title,
                        questions=questions,
                        answers=answers,
                        max_marks=max_marks,
                        held_on=held_on,
                    )
                    if saved:
                        st.session_state.pop(DRAFT, None)
                        flash(
                            f"Created the quiz {saved.title} on {saved.held_on:%d %b %Y}. "
                            "Enter marks on the Assessments page."
                        )
                        st.rerun()
        if st.button("Discard this draft", key=f"{key}_discard"):
            st.session_state.pop(DRAFT, None)
            st.rerun()

st.subheader("Drafting log")
lines = read(actor, drafting.list_drafts)
table(
    [
        {
            "When": line.created_at,
            **({"By": line.author} if actor.role == Role.ADMIN else {}),
            "Batch": line.batch,
            "Topic": line.topic,
            "Kind": line.kind,
            "Questions": line.questions,
            "Model": line.model,
            "Seconds": round(line.duration_ms / 1000, 1),
            "Outcome": line.outcome,
        }
        for line in lines
    ],
    key="ai_log",
)
for line in [x for x in lines if x.saved_text and x.kind == "quiz"][:10]:
    with st.expander(
        f"Quiz paper: {esc(line.topic)} · {esc(line.batch)} ({line.created_at:%d %b %Y})"
    ):
        st.text(line.saved_text)
