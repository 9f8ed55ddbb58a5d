"""Feedback (admins, teachers): what students said, filtered; review and resolve it; analytics
per teacher and subject with the themes behind each sentiment. Anonymous feedback shows
"Anonymous" — the student is not stored, so no screen or export can show them."""

from datetime import timedelta

import plotly.express as px
import streamlit as st

from app.core import clock
from app.core.roles import Role
from app.feedback import analytics
from app.feedback import service as feedback
from app.ui import auth
from app.ui.components import act, flash, read, show_flash, table
from app.ui.safe import esc

SENTIMENT_COLOURS = {"positive": "#2ca02c", "neutral": "#7f7f7f", "negative": "#d62728"}

user, actor = auth.guard(Role.ADMIN, Role.TEACHER, Role.COUNSELOR)
st.title("Feedback")
show_flash()
if actor.role == Role.TEACHER:
    st.caption("Feedback about you and your sessions.")
elif actor.role == Role.COUNSELOR:
    st.caption(
        "Feedback from the students you counsel (anonymous feedback names nobody, so it is not "
        "here): mark it reviewed with a note of how you followed it up."
    )
today = clock.today_in(user.institute_timezone)
options = read(actor, feedback.staff_filters)
teacher_names = dict(options["teachers"])
subject_names = dict(options["subjects"])

f1, f2 = st.columns(2)
since = f1.date_input("From", value=today - timedelta(days=90), key="fb_since")
until = f2.date_input("To", value=today, key="fb_until")
list_tab, analytics_tab = st.tabs(["Feedback", "Analytics"])

with list_tab:
    c1, c2, c3, c4 = st.columns(4)
    status = c1.selectbox("Status", ["All", "pending", "reviewed", "resolved"], key="fb_status")
    mood = c2.selectbox("Sentiment", ["All", "negative", "neutral", "positive"], key="fb_mood")
    teacher = (
        c3.selectbox(
            "Teacher",
            [None, *teacher_names],
            format_func=lambda t: "All teachers" if t is None else teacher_names[t],
            key="fb_teacher",
        )
        if actor.role == Role.ADMIN
        else None
    )
    subject = c4.selectbox(
        "Subject",
        [None, *subject_names],
        format_func=lambda s: "All subjects" if s is None else subject_names[s],
        key="fb_subject",
    )
    filters = {
        "status": None if status == "All" else status,
        "sentiment": None if mood == "All" else mood,
        "faculty_id": teacher,
        "subject_id": subject,
        "since": since,
        "until": until,
    }
    rows = read(actor, feedback.list_feedback, **filters)
    table(
        [
            {
                "Given": r.created_at.date(),
                "Student": r.student,
                "About": r.about,
                "Rating": r.rating,
                "Sentiment": r.sentiment,
                "Comment": r.comments or "",
                "Status": r.status,
                "Note": r.resolution_note or "",
            }
            for r in rows
        ],
        key="fb_table",
    )
    if rows and actor.role != Role.COUNSELOR:
        st.download_button(
            "Download CSV",
            data=read(actor, feedback.export_csv, **filters),
            file_name=f"feedback-{since}-{until}.csv",
            mime="text/csv",
            key="fb_csv",
        )
    if rows:
        open_rows = [r for r in rows if r.status != "resolved"]
        if open_rows:
            st.subheader("Review or resolve")
            pick = st.selectbox(
                "Feedback",
                open_rows,
                format_func=lambda r: (
                    f"#{r.id} · {r.created_at:%d %b} · {r.student} · {r.rating}★ {r.sentiment}"
                    f" · {r.about}"
                ),
                key="fb_pick",
            )
            st.markdown(f"> {esc(pick.comments)}" if pick.comments else "_No comment._")
            follow_up = (
                st.text_input(
                    "How it was followed up (optional)",
                    key=f"fb_follow_{pick.id}",
                    max_chars=feedback.MAX_COMMENT,
                )
                if pick.status == "pending"
                else ""
            )
            if pick.status == "pending" and st.button("Mark reviewed", key="fb_review"):
                if act(actor, feedback.review_feedback, feedback_id=pick.id, note=follow_up):
                    flash(f"Feedback #{pick.id} marked reviewed.")
                    st.rerun()
            if actor.role == Role.ADMIN:
                with st.form("fb_resolve", clear_on_submit=True):
                    note = st.text_area("What was done (the student sees this when named)")
                    if st.form_submit_button("Resolve") and act(
                        actor, feedback.resolve_feedback, feedback_id=pick.id, note=note
                    ):
                        flash(f"Feedback #{pick.id} resolved.")
                        st.rerun()

with analytics_tab:
    totals = read(actor, analytics.sentiment_totals, since=since, until=until)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Feedback", totals.count)
    m2.metric("Average rating", f"{totals.average_rating:.2f}" if totals.count else "—")
    m3.metric("Positive", totals.positive)
    m4.metric("Negative", f"{totals.negative} ({totals.negative_share:g}%)")

    def summary_chart(title: str, summaries: list, key: str) -> None:
        st.subheader(title)
        if not summaries:
            st.caption("No feedback in this period.")
            return
        long = [
            {"Name": x.name, "Sentiment": label, "Feedback": getattr(x, label)}
            for x in summaries
            for label in ("positive", "neutral", "negative")
        ]
        fig = px.bar(
            long,
            x="Name",
            y="Feedback",
            color="Sentiment",
            color_discrete_map=SENTIMENT_COLOURS,
        )
        fig.update_layout(height=320, margin={"l": 0, "r": 0, "t": 10, "b": 0})
        st.plotly_chart(fig, width="stretch", key=f"{key}_chart")
        with st.expander("Table"):
            table(
                [
                    {
                        "Name": x.name,
                        "Feedback": x.count,
                        "Average rating": x.average_rating,
                        "Positive": x.positive,
                        "Neutral": x.neutral,
                        "Negative": x.negative,
                        "Negative %": x.negative_share,
                    }
                    for x in summaries
                ],
                key=f"{key}_table",
            )

    summary_chart(
        "Per teacher", read(actor, analytics.by_teacher, since=since, until=until), "fb_teachers"
    )
    summary_chart(
        "Per subject", read(actor, analytics.by_subject, since=since, until=until), "fb_subjects"
    )

    st.subheader("Themes")
    st.caption("The words students use most in each kind of comment (common words left out).")
    themes = read(actor, analytics.themes_by_sentiment, since=since, until=until)
    cols = st.columns(3)
    for col, label in zip(cols, ("positive", "neutral", "negative"), strict=True):
        with col:
            st.markdown(f"**{esc(label.title())}**")
            words = themes[label]
            if not words:
                st.caption("No comments.")
                continue
            fig = px.bar(
                [{"Word": w, "Comments": n} for w, n in words],
                x="Comments",
                y="Word",
                orientation="h",
                color_discrete_sequence=[SENTIMENT_COLOURS[label]],
            )
            fig.update_layout(
                height=280,
                margin={"l": 0, "r": 0, "t": 10, "b": 0},
                yaxis={"autorange": "reversed"},
            )
            st.plotly_chart(fig, width="stretch", key=f"fb_theme_{label}")
            with st.expander("Table"):
                table([{"Word": w, "Comments": n} for w, n in words], key=f"fb_theme_{label}_table")
