"""An attendance sheet opened from a one-time link (sent by Telegram): no sign-in needed."""

import streamlit as st

from app.attendance import service as attendance
from app.core.db import session_scope
from app.identity import service as identity
from app.ui import attendance_sheet
from app.ui.components import FLASH, read

token = st.query_params.get("attendance", "")
with session_scope(system=True) as session:
    actor, sheet, error = attendance.open_link(session, token=token)
if error:
    done = st.session_state.pop(FLASH, None)
    if done:
        st.success(done[1])
        st.caption("This link has done its job. Open Today in Cohort to see the sheet again.")
    else:
        st.title("Attendance")
        st.error(error)
    st.stop()
institute = read(actor, identity.get_institute)
attendance_sheet.render(actor, sheet, timezone=institute.timezone, link_token=token)
