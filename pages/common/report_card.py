"""Report card: attendance, homework, assessments and topic progress for a period, with a PDF.
Staff choose a student; a student sees their own."""

import streamlit as st

from app.academics import service as academics
from app.core.errors import DomainError
from app.core.roles import Role
from app.coursework import service as coursework
from app.reports import service as reports
from app.ui import auth
from app.ui import enrolments as enrolment_controls
from app.ui.components import act, flash, read, show_flash, table
from app.ui.safe import esc

user, actor = auth.guard(Role.ADMIN, Role.TEACHER, Role.COUNSELOR, Role.STUDENT)
is_student = actor.role == Role.STUDENT
st.title("My report card" if is_student else "Report card")
show_flash()

if is_student:
    me = read(actor, coursework.my_student)
    if me is None:
        st.info("Your account is not linked to a student record yet; ask the institute.")
        st.stop()
    student_id = None
else:
    search = st.text_input("Find a student (name, enrollment number or phone)", key="rc_search")
    found = read(actor, academics.list_students, search=search or None, limit=50)
    if not found:
        st.info("No student matches." if search else "No students to show yet.")
        st.stop()
    chosen = st.selectbox(
        "Student", found, format_func=lambda s: f"{s.name} · {s.enrollment_no}", key="rc_student"
    )
    student_id = chosen.id

default_start, default_end = read(actor, coursework.default_period)
c1, c2 = st.columns(2)
start = c1.date_input("From", value=default_start, key="rc_from")
end = c2.date_input("To", value=default_end, key="rc_to")
try:
    card = read(actor, coursework.report_card, student_id=student_id, start=start, end=end)
except DomainError as exc:
    st.error(exc.message)
    st.stop()

st.subheader(f"{esc(card.student)} · {esc(card.enrollment_no)}")
st.caption(
    f"{card.start:%d %b %Y} to {card.end:%d %b %Y}"
    + (f" · {esc(', '.join(card.batches))}" if card.batches else "")
)
a, h = card.attendance, card.homework
m1, m2, m3 = st.columns(3)
m1.metric("Attendance", f"{a.percent:g}%" if a.percent is not None else "–")
m2.metric("Homework on time", f"{h.on_time}/{h.set}" if h.set else "–")
m3.metric("Assessment mean", f"{card.mean_percent:g}%" if card.mean_percent is not None else "–")

st.markdown("**Enrolments**")
table(
    [
        {
            "Subject": e.subject,
            "Status": e.status,
            "Completion %": e.completion_pct,
            "Started": e.started_on,
            "Expected completion": e.expected_completion,
            "Completed": e.completed_on,
        }
        for e in card.enrolments
    ],
    key="rc_enrolments",
    empty="Not enrolled in a subject.",
)
if actor.role in (Role.ADMIN, Role.TEACHER) and student_id is not None and card.enrolments:
    with st.expander("Change an enrolment's status"):
        enrolment_controls.status_form(
            actor,
            read(actor, academics.enrolments_of, student_id=student_id),
            student=card.student,
            key="rc_en",
            pick_key=f"rc_en_pick_{student_id}",
        )
st.markdown("**Attendance**")
st.write(
    f"{esc(a.sessions)} classes: {esc(a.present)} present, {esc(a.late)} late, {esc(a.absent)} absent, "
    f"{esc(a.excused)} excused."
    if a.sessions
    else "No attendance was taken in this period."
)
st.markdown("**Homework**")
st.write(
    f"{esc(h.set)} set: {esc(h.on_time)} on time, {esc(h.late)} late, {esc(h.missing)} missing, "
    f"{esc(h.pending)} not yet due"
    + (f"; mean mark {h.mean_percent:g}%." if h.mean_percent is not None else ".")
    if h.set
    else "No homework was due in this period."
)
st.markdown("**Assessments**")
table(
    [
        {
            "Date": x.date,
            "Kind": x.kind.capitalize(),
            "Title": x.title,
            "Subject": x.subject or "",
            "Marks": "Absent"
            if x.absent
            else f"{x.marks:g} / {x.max_marks:g}"
            if x.marks is not None
            else f"– / {x.max_marks:g}",
            "Percent": x.percentage,
            "Grade": x.grade or "",
        }
        for x in card.assessments
    ],
    key="rc_assessments",
)
st.markdown("**Topic progress**")
table(
    [
        {
            "Subject": t.subject,
            "Topic": t.topic,
            "Status": t.status.replace("_", " "),
            "Competency (0–5)": t.competency,
        }
        for t in card.topics
    ],
    key="rc_topics",
)
st.download_button(
    "Download PDF",
    data=read(actor, coursework.report_card_pdf, student_id=student_id, start=start, end=end),
    file_name=f"report-card-{card.enrollment_no}-{card.end:%Y%m%d}.pdf",
    mime="application/pdf",
    key="rc_pdf",
    type="primary",
)

if actor.role in (Role.ADMIN, Role.TEACHER):
    month = end.replace(day=1)
    st.caption(
        f"Guardians with a linked Telegram chat get a summary of each month on the 1st; send "
        f"{month:%B %Y}'s now if they need it sooner (each guardian gets a month once)."
    )
    if st.button(f"Send {month:%B %Y}'s progress report to guardians", key="rc_send"):
        queued = act(actor, reports.send_for_student, student_id=student_id, month=month)
        if queued is not None:
            flash(
                f"Queued for {queued} guardian{'s' if queued != 1 else ''}."
                if queued
                else "Nothing to send: no guardian with a linked Telegram chat is waiting for "
                "this month's report."
            )
            st.rerun()
