"""Today (teachers' landing; admins see every teacher): sessions with their state, open actions."""

from zoneinfo import ZoneInfo

import streamlit as st

from app.attendance import service as attendance
from app.core import clock
from app.core.roles import Role
from app.inbox import service as inbox
from app.ui import auth
from app.ui.components import read
from app.ui.risk import high_risk_panel

user, actor = auth.guard(Role.TEACHER, Role.ADMIN)
tz = ZoneInfo(user.institute_timezone)
today = clock.today_in(user.institute_timezone)
st.title("Today")
st.caption(f"{today:%A %d %B %Y}")

c1, c2 = st.columns(2)
cards = read(actor, attendance.sessions_for_day, day=today)
c1.metric("Classes today", len(cards))
c2.metric("Open actions", read(actor, inbox.open_count))

BADGE = {
    "scheduled": ":gray[scheduled]",
    "open": ":orange[attendance open]",
    "submitted": ":green[submitted]",
    "closed": ":green[closed]",
    "missed": ":red[missed]",
}
if not cards:
    st.info("No classes today.")
for card in cards:
    with st.container(border=True):
        st.markdown(
            f"**{card.starts_at.astimezone(tz):%H:%M}–{card.ends_at.astimezone(tz):%H:%M} · {card.batch}**  \n"
            f"{card.subject}"
            + (f" · {card.teacher}" if actor.role == Role.ADMIN and card.teacher else "")
            + f"  \n{BADGE.get(card.status, card.status)} · {card.students} students"
            + (f" · {card.marked} marked" if card.marked else " · not taken")
        )
        label = "Take attendance" if card.status in ("scheduled", "open") else "View sheet"
        if st.button(
            label,
            key=f"open_{card.id}",
            type="primary" if card.status == "open" else "secondary",
            use_container_width=True,
        ):
            st.session_state["sheet_session"] = card.id
            st.switch_page("pages/teacher/attendance.py")

st.page_link("pages/teacher/inbox.py", label="Action inbox", icon=":material/inbox:")
high_risk_panel(actor)
