"""Notification rules: the institute's, and what applies to a batch."""

from datetime import time

import streamlit as st

from app.academics import service as academics
from app.core.roles import Role
from app.notify import service as notify
from app.ui import auth
from app.ui.components import act, flash, read, show_flash, table
from app.ui.safe import esc

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
batches = read(actor, academics.list_batches)
if not batches:
    st.caption("No batches yet: the rules above apply to every class.")
    st.stop()
batch = st.selectbox("Batch", batches, format_func=lambda b: b.name, key="r_batch")
effective = read(actor, notify.effective_rules_for, batch_id=batch.id)
table(
    [
        {
            "Rule": name.replace("_", " ").capitalize(),
            "Value": str(getattr(effective, name)),
            "From": {"batch": "this batch", "institute": "institute rules", "default": "default"}[
                effective.source(name)
            ],
        }
        for name in notify.RULE_FIELDS
    ],
    key="effective_rules",
)
override = read(actor, notify.get_rule_config, batch_id=batch.id)
INHERIT = "Same as the institute"
with st.form(f"batch_rules_{batch.id}"):
    st.caption(f"Overrides for {esc(batch.name)}; leave a rule empty to follow the institute.")
    current = None if override is None else override.notify_guardian_on_absence
    absence_choice = st.selectbox(
        "Tell guardians about absences",
        [INHERIT, "Yes", "No"],
        index=0 if current is None else (1 if current else 2),
        key=f"rb_abs_{batch.id}",
    )
    streak_o = st.number_input(
        "Consecutive absences that open an action",
        min_value=1,
        max_value=365,
        value=override.absence_streak_threshold if override else None,
        key=f"rb_streak_{batch.id}",
    )
    b1, b2 = st.columns(2)
    before_o = b1.number_input(
        "Fee reminder days before",
        min_value=0,
        max_value=365,
        value=override.fee_reminder_days_before if override else None,
        key=f"rb_before_{batch.id}",
    )
    after_o = b2.number_input(
        "Fee reminder days after",
        min_value=0,
        max_value=365,
        value=override.fee_reminder_days_after if override else None,
        key=f"rb_after_{batch.id}",
    )
    own_quiet = st.checkbox(
        "Own quiet hours",
        value=bool(override and override.quiet_hours_start),
        key=f"rb_quiet_{batch.id}",
    )
    q1, q2 = st.columns(2)
    q_start = q1.time_input(
        "Quiet from",
        value=(override and override.quiet_hours_start) or time(21, 0),
        key=f"rb_qs_{batch.id}",
    )
    q_end = q2.time_input(
        "Quiet until",
        value=(override and override.quiet_hours_end) or time(7, 0),
        key=f"rb_qe_{batch.id}",
    )
    if st.form_submit_button("Save overrides"):
        saved = act(
            actor,
            notify.save_rules,
            batch_id=batch.id,
            notify_guardian_on_absence=None
            if absence_choice == INHERIT
            else absence_choice == "Yes",
            absence_streak_threshold=int(streak_o) if streak_o is not None else None,
            fee_reminder_days_before=int(before_o) if before_o is not None else None,
            fee_reminder_days_after=int(after_o) if after_o is not None else None,
            quiet_hours_start=q_start if own_quiet else None,
            quiet_hours_end=q_end if own_quiet else None,
        )
        if saved:
            flash(f"Saved the overrides of {batch.name}.")
            st.rerun()
