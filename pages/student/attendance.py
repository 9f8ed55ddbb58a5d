"""My attendance (students, read-only): attendance percentage overall and per batch, and the
latest marks."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import streamlit as st

from app.attendance import service as attendance
from app.core import clock
from app.core.errors import NotFound
from app.core.roles import Role
from app.ui import auth
from app.ui.components import read
from app.ui.safe import esc

user, actor = auth.guard(Role.STUDENT)
tz = ZoneInfo(user.institute_timezone)
today = clock.today_in(user.institute_timezone)
st.title("My attendance")
PERIODS = {"Last 30 days": 30, "Last 90 days": 90, "Since I joined": None}
period = st.radio("Period", list(PERIODS), horizontal=True, key="att_period")
days = PERIODS[period]
try:
    mine = read(
        actor,
        attendance.my_attendance,
        since=today - timedelta(days=days - 1) if days else None,
    )
except NotFound as exc:
    st.info(exc.message)
    st.stop()


def percent_text(value: float | None) -> str:
    return f"{value:g}%" if value is not None else "–"


t = mine.overall
c1, c2 = st.columns(2)
c1.metric("Attendance", percent_text(t.percent))
c2.metric("Classes", t.sessions)
st.caption(
    f"{esc(t.present)} present · {esc(t.late)} late · {esc(t.absent)} absent · {esc(t.excused)} excused"
)
if len(mine.by_batch) > 1:
    st.subheader("By batch")
    for batch, tally in mine.by_batch:
        st.markdown(
            f"**{esc(batch)}**: {esc(percent_text(tally.percent))} of {esc(tally.sessions)} classes"
        )
st.subheader("Latest classes")
if not mine.recent:
    st.caption("No attendance taken yet.")
ICON = {"present": "✅", "late": "🕒", "absent": "❌", "excused": "➖"}
for m in mine.recent:
    st.markdown(
        f"{esc(ICON.get(m.status, ''))} {m.starts_at.astimezone(tz):%a %d %b, %H:%M} · "
        f"{esc(m.subject)} · {esc(m.batch)} · {esc(m.status)}"
    )
