"""My schedule (students, read-only): their classes day by day, held and planned, with a
calendar file (.ics) to add them to a phone's calendar. Cancelled and moved classes say so in
words, with the reason and where a moved class went."""

from datetime import timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

import streamlit as st

from app.attendance import service as attendance
from app.core import clock
from app.core.errors import DomainError
from app.core.roles import Role
from app.ui import auth
from app.ui.components import read
from app.ui.safe import esc, markup
from app.ui.schedule import class_state

user, actor = auth.guard(Role.STUDENT)
tz = ZoneInfo(user.institute_timezone)
today = clock.today_in(user.institute_timezone)
st.title("My schedule")
c1, c2 = st.columns(2)
start = c1.date_input("From", value=today, key="sch_from")
end = c2.date_input("To", value=today + timedelta(days=27), key="sch_to")
try:
    classes = read(actor, attendance.my_sessions, start=start, end=end)
except DomainError as exc:
    st.info(exc.message)
    st.stop()

if not classes:
    st.caption("No classes in this period.")
for day, group in groupby(classes, key=lambda c: c.date):
    st.markdown(f"##### {day:%A %d %B}" + (" · today" if day == today else ""))
    for c in group:
        state = class_state(c, tz)
        st.markdown(
            f"**{c.starts_at.astimezone(tz):%H:%M}–{c.ends_at.astimezone(tz):%H:%M}** · "
            f"{esc(c.subject)} · {esc(c.batch)}"
            + (f" · {esc(c.teacher)}" if c.teacher else "")
            + (f" · {markup(state)}" if state else "")
        )
if classes:
    st.download_button(
        "Add to my calendar (.ics)",
        data=attendance.calendar_ics(classes),
        file_name=f"my-classes-{start:%Y%m%d}-{end:%Y%m%d}.ics",
        mime="text/calendar",
        key="sch_ics",
    )
    st.caption("Times are in the institute's time zone; the calendar file carries them in UTC.")
