"""Learning analytics (admins; teachers for their batches): velocity and predicted completion per
enrolment, topic difficulty and effectiveness, and teacher performance. Every chart has its
table one click away and a CSV download."""

from datetime import timedelta

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app.academics import service as academics
from app.analytics import learning
from app.core import clock
from app.core.roles import Role
from app.ui import auth
from app.ui.charts import bars, chart_block, figure
from app.ui.components import act, read


def _pace_chart(frame) -> go.Figure:
    """One bar a student (every name labelled, on its own row): topics completed a week, with
    the predicted completion date written on the bar."""
    predicted = [f"done by {d:%d %b %Y}" if pd.notna(d) else "" for d in frame["Predicted"]]
    return figure(
        go.Bar(
            y=frame["Student"],
            x=frame["Topics a week"],
            orientation="h",
            text=predicted,
            textposition="auto",
            hovertemplate="%{y}: %{x:.2f} topics a week<extra></extra>",
        ),
        height=max(220, 60 + 28 * len(frame)),
        xaxis={"title": "Topics completed a week (last weeks)", "rangemode": "tozero"},
        yaxis={"type": "category", "automargin": True, "dtick": 1, "autorange": "reversed"},
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
    )


user, actor = auth.guard(Role.ADMIN, Role.TEACHER)
st.title("Learning analytics")
today = clock.today_in(user.institute_timezone)
enrolments_tab, topics_tab, teachers_tab = st.tabs(["Enrolments", "Topics", "Teachers"])

with enrolments_tab:
    batches = read(actor, academics.list_batches) or []
    if not batches:
        st.info("No batches yet." if actor.role == Role.ADMIN else "You teach no batches yet.")
    else:
        batch = st.selectbox(
            "Batch", batches, format_func=lambda b: f"{b.name} · {b.subject}", key="la_batch"
        )
        rows = act(actor, learning.enrolments, batch_id=batch.id) or []
        chart_block(
            "Predicted completion",
            [
                {
                    "Student": r.student,
                    "Enrollment": r.enrollment_no,
                    "Topics done": f"{r.completed}/{r.topics}",
                    "Topics a week": r.velocity,
                    "Trend": r.trend,
                    "Predicted": r.predicted,
                    "Earliest": r.earliest,
                    "Latest": r.latest,
                    "How": r.note,
                }
                for r in rows
            ],
            _pace_chart,
            key="la_enrolments",
            caption=f"Velocity over the last {learning.WEEKS} weeks; the prediction divides the "
            "syllabus minutes left by the pace of the last weeks, with a range from how much "
            "that pace varied.",
        )
        students = {r.student_id: r.student for r in rows}
        who = st.selectbox(
            "Progress over time",
            [None, *students],
            format_func=lambda i: "Whole batch" if i is None else students[i],
            key="la_student",
        )
        chart_block(
            "Topics completed",
            read(actor, learning.timeline, batch_id=batch.id, student_id=who) or [],
            lambda f: figure(
                go.Scatter(x=f["Week of"], y=f["Total so far"], mode="lines", fill="tozeroy")
            ),
            key="la_timeline",
        )

with topics_tab:
    subjects = read(actor, academics.list_subjects) or []
    if not subjects:
        st.info("No subjects yet.")
    else:
        subject = st.selectbox("Subject", subjects, format_func=lambda s: s.name, key="la_subject")
        chart_block(
            "Topics: competency and classes needed",
            read(actor, learning.topics, subject_id=subject.id) or [],
            bars("Topic", "Average competency", "Classes to complete"),
            key="la_topics",
            caption="A topic rated easy that takes many classes, or with a low average "
            "competency, is where teaching needs a second look.",
        )

with teachers_tab:
    c1, c2 = st.columns(2)
    start = c1.date_input("From", value=today - timedelta(days=29), key="la_start")
    end = c2.date_input("To", value=today, key="la_end")
    chart_block(
        "Teachers",
        act(actor, learning.teachers, start=start, end=end) or [],
        bars("Teacher", "Attendance %", "Topics completed"),
        key="la_teachers",
        caption="Attendance in their classes, topics their current students completed on "
        "their subjects in the range, those students' average competency (0–5) and the "
        "feedback about them.",
    )
