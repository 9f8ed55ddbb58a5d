"""My dashboard (students' landing, read-only): next classes, attendance, homework to hand in,
fee balance. Progress only: no risk label or score is ever shown to a student."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import streamlit as st

from app.academics import service as academics
from app.attendance import service as attendance
from app.core import clock
from app.core.errors import NotFound
from app.core.money import format_money
from app.core.roles import Role
from app.coursework import service as coursework
from app.fees import service as fees
from app.fees.models import OPEN_INVOICE_STATUSES
from app.ui import auth
from app.ui.components import read
from app.ui.safe import esc, markup
from app.ui.schedule import class_state

user, actor = auth.guard(Role.STUDENT)
tz = ZoneInfo(user.institute_timezone)
today = clock.today_in(user.institute_timezone)
st.title("My dashboard")
try:
    me = read(actor, academics.my_student)
except NotFound as exc:
    st.info(exc.message)
    st.stop()
st.caption(f"{esc(me.name)} · {today:%A %d %B %Y}")

now = clock.now()
upcoming = [
    c
    for c in read(actor, attendance.my_sessions, start=today, end=today + timedelta(days=7))
    if c.ends_at > now
]
month = read(actor, attendance.my_attendance, since=today - timedelta(days=29), recent=0)
to_do = read(actor, coursework.my_homework, open_only=True)
owed = sum(
    i.total_minor - i.paid_minor
    for i in read(actor, fees.my_invoices)
    if i.status in OPEN_INVOICE_STATUSES
)

c1, c2 = st.columns(2)
percent = month.overall.percent
c1.metric("Attendance (30 days)", f"{percent:g}%" if percent is not None else "–")
c2.metric("Homework to hand in", len(to_do))
c3, c4 = st.columns(2)
c3.metric("Fee balance", format_money(owed, user.institute_currency))
next_held = next((c for c in upcoming if c.held), None)  # not a cancelled or moved one
c4.metric(
    "Next class",
    f"{next_held.starts_at.astimezone(tz):%a %H:%M}" if next_held else "–",
)

st.subheader("Next classes")
if not upcoming:
    st.caption("No classes in the next seven days.")
for c in upcoming[:3]:
    st.markdown(
        f"**{c.starts_at.astimezone(tz):%a %d %b, %H:%M}–{c.ends_at.astimezone(tz):%H:%M}**  \n"
        f"{esc(c.subject)} · {esc(c.batch)}"
        + (f" · {esc(c.teacher)}" if c.teacher else "")
        + (f" · {markup(state)}" if (state := class_state(c, tz)) else "")
    )
st.page_link("pages/student/schedule.py", label="My schedule", icon=":material/calendar_month:")

st.subheader("Homework to hand in")
if not to_do:
    st.caption("Nothing to hand in. Well done.")
for h in to_do[:5]:
    due = "today" if h.due_on == today else f"{h.due_on:%a %d %b}"
    st.markdown(f"**{esc(h.title)}** · {esc(h.batch)}  \ndue {esc(due)}")
st.page_link("pages/student/homework.py", label="My homework", icon=":material/assignment:")
if owed:
    st.page_link("pages/student/my_fees.py", label="My fees", icon=":material/receipt_long:")
