"""Quick attendance for one class session (opened from Today)."""

import streamlit as st

from app.attendance import service as attendance
from app.core.roles import Role
from app.ui import attendance_sheet, auth
from app.ui.components import read

user, actor = auth.guard(Role.TEACHER, Role.ADMIN)
session_id = st.session_state.get("sheet_session") or st.query_params.get("session")
if not session_id:  # opened from the sidebar: the sheet (with its class as title) needs a class
    st.title("Attendance")
    st.info("Open a class from Today to take its attendance.")
    st.page_link("pages/teacher/today.py", label="Go to Today", icon=":material/today:")
    st.stop()
try:
    sheet = read(actor, attendance.attendance_sheet, session_id=int(session_id))
except Exception as exc:  # noqa: BLE001 - a domain refusal is shown as it is
    st.error(getattr(exc, "message", "That class session cannot be opened."))
    st.stop()
attendance_sheet.render_live(actor, sheet, timezone=user.institute_timezone)
