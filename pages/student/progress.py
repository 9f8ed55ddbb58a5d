"""My progress (students, read-only): competency per topic of each subject, completion, pace
and a predicted completion date."""

import streamlit as st

from app.analytics import progress
from app.core.errors import NotFound
from app.core.roles import Role
from app.ui import auth
from app.ui.components import read, table
from app.ui.safe import esc

user, actor = auth.guard(Role.STUDENT)
st.title("My progress")
try:
    subjects = read(actor, progress.my_progress)
except NotFound as exc:
    st.info(exc.message)
    st.stop()
if not subjects:
    st.info("You are not studying a subject yet.")
STATUS = {
    "not_started": "not started",
    "in_progress": "in progress",
    "needs_review": "needs review",
    "completed": "completed",
    "mastered": "mastered",
}
ENROLMENT = {
    "active": "Enrolled",
    "paused": "Paused",
    "dropped": "Dropped",
    "completed": "Completed",
}
for p in subjects:
    st.subheader(p.subject)
    if p.status:
        since = p.completed_on or p.status_changed_on
        st.caption(
            esc(ENROLMENT.get(p.status, p.status)) + (f" since {since:%d %b %Y}" if since else "")
        )
    c1, c2 = st.columns(2)
    c1.metric("Topics done", f"{p.done}/{len(p.topics)}")
    c2.metric(
        "Average competency",
        f"{p.mean_competency:g} / 5" if p.mean_competency is not None else "–",
    )
    st.progress(p.completion_pct / 100, text=f"{p.completion_pct:g}% of the syllabus")
    notes = [f"{p.topics_per_week:g} topics a week lately"] if p.topics_per_week else []
    if p.predicted_completion:
        notes.append(f"at this pace done by {p.predicted_completion:%d %b %Y}")
    else:
        notes.append(p.prediction_note)
    if p.expected_completion:
        notes.append(f"planned by {p.expected_completion:%d %b %Y}")
    st.caption(" · ".join(notes))
    table(
        [
            {
                "Topic": t.topic,
                "Status": STATUS.get(t.status, t.status),
                "Competency": t.competency,
            }
            for t in p.topics
        ],
        columns={
            "Competency": st.column_config.ProgressColumn(
                "Competency (0–5)", min_value=0, max_value=5, format="%.1f"
            )
        },
        key=f"progress_{p.subject}",
    )
