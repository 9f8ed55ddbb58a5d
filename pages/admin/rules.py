"""Notification rules: the institute's, and what applies to a batch."""

from datetime import time

import streamlit as st

from app.core.roles import Role
from app.notify import service as notify
from app.ui import auth
from app.ui.components import act, flash, read, show_flash, table

user, actor = auth.guard(Role.ADMIN)
st.title("Notification rules")
show_flash()

current = read(actor, notify.effective_rules_for, batch_id=None)
with st.form("rules"):
    st.caption("These apply to every batch unless the batch overrides them.")
    absence = st.checkbox(
        "Tell guardians when a student is absent",
        value=current.notify_guardian_on_absence,
        key="r_absence",
    )
    streak = st.number_input(
        "Consecutive absences that open an action",
        min_value=1,
        max_value=365,
        value=current.absence_streak_threshold,
        key="r_streak",
    )
    c1, c2 = st.columns(2)
    before = c1.number_input(
        "Fee reminder: days before the due date",
        min_value=0,
        max_value=365,
        value=current.fee_reminder_days_before,
        key="r_before",
    )
    after = c2.number_input(
        "Fee reminder: days after the due date",
        min_value=0,
        max_value=365,
        value=current.fee_reminder_days_after,
        key="r_after",
    )
    quiet = st.checkbox(
        "Hold Telegram messages during quiet hours",
        value=current.quiet_hours_start is not None,
        key="r_quiet",
    )
    c3, c4 = st.columns(2)
    start = c3.time_input(
        "Quiet from", value=current.quiet_hours_start or time(21, 0), key="r_qstart"
    )
    end = c4.time_input("Quiet until", value=current.quiet_hours_end or time(7, 0), key="r_qend")
    if st.form_submit_button("Save rules", type="primary"):
        saved = act(
            actor,
            notify.save_rules,
            notify_guardian_on_absence=absence,
            absence_streak_threshold=int(streak),
            fee_reminder_days_before=int(before),
            fee_reminder_days_after=int(after),
            quiet_hours_start=start if quiet else None,
            quiet_hours_end=end if quiet else None,
        )
        if saved:
            flash("Rules saved.")
            st.rerun()

st.subheader("What applies to a batch")
overrides = read(actor, notify.list_rule_overrides)
batch_ids = sorted({o.batch_id for o in overrides})
if not batch_ids:
    st.caption("No batch overrides its rules: every batch follows the rules above.")
else:
    batch_id = st.selectbox("Batch", batch_ids, format_func=lambda b: f"Batch #{b}", key="r_batch")
    effective = read(actor, notify.effective_rules_for, batch_id=batch_id)
    table(
        [
            {
                "Rule": name.replace("_", " "),
                "Value": str(getattr(effective, name)),
                "From": effective.source(name),
            }
            for name in notify.RULE_FIELDS
        ],
        key="effective_rules",
    )
