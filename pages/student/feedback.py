"""Feedback (students): rate a recent session, a teacher, a subject, the institute or its
facilities 1–5 with a comment, optionally
anonymously, and see one's own named feedback and what was done about it."""

import streamlit as st

from app.core.roles import Role
from app.feedback import service as feedback
from app.ui import auth
from app.ui.components import act, flash, read, show_flash, table
from app.ui.safe import esc

STARS = {n: "★" * n + "☆" * (5 - n) for n in range(1, 6)}

user, actor = auth.guard(Role.STUDENT)
st.title("Feedback")
show_flash()
if not read(actor, feedback.has_student_record):
    st.info("Your account is not linked to a student record yet; ask the office.")
    st.stop()

st.caption(
    "Tell us how a class went or how a teacher is doing. Honest feedback helps; a low rating or a "
    "negative comment goes to the office to follow up."
)
KINDS = {
    "session": "A recent session",
    "faculty": "A teacher",
    "subject": "A subject",
    "institute": "The institute",
    "facility": "The facilities",
}
kind = st.radio(
    "What are you rating?", list(KINDS), format_func=KINDS.get, horizontal=True, key="fb_kind"
)
sessions = read(actor, feedback.recent_sessions) if kind == "session" else []
teachers = read(actor, feedback.my_teachers) if kind == "faculty" else []
subjects = dict(read(actor, feedback.my_subjects) or []) if kind == "subject" else {}
if kind == "session" and not sessions:
    st.info(f"You have no session of the last {esc(feedback.FEEDBACK_WINDOW_DAYS)} days to rate.")
elif kind == "faculty" and not teachers:
    st.info("You are not in a batch with a teacher yet.")
elif kind == "subject" and not subjects:
    st.info("You are not in a batch of any subject yet.")
else:
    with st.form("give_feedback", clear_on_submit=True):
        target = None
        if kind == "session":
            target = st.selectbox("Session", sessions, format_func=lambda t: t.label)
        elif kind == "faculty":
            target = st.selectbox(
                "Teacher", teachers, format_func=lambda t: f"{t.name} · {t.subjects}"
            )
        elif kind == "subject":
            target = st.selectbox("Subject", list(subjects), format_func=subjects.get)
        else:
            st.caption(
                "About the institute: timings, fees, how it keeps you informed."
                if kind == "institute"
                else "About the facilities: rooms, equipment, the library, the Wi-Fi."
            )
        rating = st.radio("Rating", list(STARS), index=3, format_func=STARS.get, horizontal=True)
        comments = st.text_area("Comment (optional)", max_chars=feedback.MAX_COMMENT)
        anonymous = st.checkbox(
            "Send anonymously",
            help="Staff will see “Anonymous”. Anonymous feedback is not linked to you at all, "
            "so it will not appear in your list below either.",
        )
        if st.form_submit_button("Send feedback", type="primary"):
            done = act(
                actor,
                feedback.submit_feedback,
                feedback_type=kind,
                rating=rating,
                comments=comments,
                anonymous=anonymous,
                session_id=target.session_id if kind == "session" else None,
                faculty_id=target.user_id if kind == "faculty" else None,
                subject_id=target if kind == "subject" else None,
            )
            if done:
                how = "anonymously" if done.anonymous else "with your name"
                flash(
                    f"Thank you: your feedback was sent {how}."
                    + (" The office will follow it up." if done.flagged else "")
                )
                st.rerun()

st.subheader("My feedback")
mine = read(actor, feedback.my_feedback)
table(
    [
        {
            "Given": m.created_at.date(),
            "About": m.about,
            "Rating": STARS[m.rating],
            "Comment": m.comments or "",
            "Status": m.status,
            "Response": m.resolution_note or "",
        }
        for m in mine
    ],
    key="fb_mine",
)
