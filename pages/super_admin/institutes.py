"""Institutes (super_admin): create institutes, set subscriptions and teacher caps, see counts."""

from datetime import timedelta

import streamlit as st

from app.core import clock
from app.core.config import get_settings
from app.core.roles import Role
from app.identity import service as identity
from app.ui import auth
from app.ui.components import act, flash, read, reset_widgets, show_flash, table

user, actor = auth.guard(Role.SUPER_ADMIN)
st.title("Institutes")
show_flash()

summaries = read(actor, identity.list_institutes)
table(
    [
        {
            "Institute": s.name,
            "Subscription ends": s.subscription_end,
            "Status": "Expired" if s.expired else "Active",
            "Teacher cap": s.max_teachers if s.max_teachers is not None else "none",
            "Admins": s.admins,
            "Teachers": s.teachers,
            "Counselors": s.counselors,
            "Students": s.students,
            "Active users": s.active_users,
            "Timezone": s.timezone,
            "Currency": s.currency,
        }
        for s in summaries
    ],
    key="institutes_table",
)

create_tab, edit_tab, admin_tab = st.tabs(["New institute", "Edit subscription", "Invite an admin"])

with create_tab, st.form("create_institute"):
    name = st.text_input("Name", key="new_inst_name")
    c1, c2 = st.columns(2)
    timezone = c1.text_input("Timezone", value=get_settings().DEFAULT_TIMEZONE, key="new_inst_tz")
    currency = c2.text_input(
        "Currency", value=get_settings().DEFAULT_CURRENCY, max_chars=3, key="new_inst_currency"
    )
    c3, c4 = st.columns(2)
    ends = c3.date_input(
        "Subscription ends", value=clock.now().date() + timedelta(days=365), key="new_inst_end"
    )
    cap = c4.number_input(
        "Teacher cap (0 = no limit)", min_value=0, value=0, step=1, key="new_inst_cap"
    )
    if st.form_submit_button("Create institute", type="primary"):
        created = act(
            actor,
            identity.create_institute,
            name=name,
            timezone=timezone,
            currency=currency,
            subscription_end=ends,
            max_teachers=int(cap) or None,
        )
        if created:
            flash(f"Created {created.name}.")
            reset_widgets("new_inst_name")
            st.rerun()

by_name = {s.name: s for s in summaries}
with edit_tab:
    if not by_name:
        st.caption("Create an institute first.")
    else:
        chosen = by_name[st.selectbox("Institute", list(by_name), key="edit_inst")]
        with st.form("edit_institute"):
            ends = st.date_input(
                "Subscription ends",
                value=chosen.subscription_end or clock.now().date(),
                key=f"edit_end_{chosen.id}",
            )
            cap = st.number_input(
                "Teacher cap (0 = no limit)",
                min_value=0,
                value=chosen.max_teachers or 0,
                step=1,
                key=f"edit_cap_{chosen.id}",
            )
            if st.form_submit_button("Save", type="primary"):
                saved = act(
                    actor,
                    identity.update_institute,
                    institute_id=chosen.id,
                    subscription_end=ends,
                    max_teachers=int(cap) or None,
                    clear_max_teachers=int(cap) == 0,
                )
                if saved:
                    flash(f"Saved {saved.name}: access until {saved.subscription_end}.")
                    st.rerun()

with admin_tab:
    if not by_name:
        st.caption("Create an institute first.")
    else:
        with st.form("invite_admin"):
            target = by_name[st.selectbox("Institute", list(by_name), key="admin_inst")]
            admin_name = st.text_input("Name", key="admin_name")
            admin_email = st.text_input("Email", key="admin_email")
            admin_phone = st.text_input("Phone (optional)", key="admin_phone")
            if st.form_submit_button("Invite admin", type="primary"):
                invited = act(
                    actor,
                    identity.invite_user,
                    name=admin_name,
                    email=admin_email,
                    phone=admin_phone,
                    role=Role.ADMIN.value,
                    institute_id=target.id,
                )
                if invited:
                    flash(f"Invited {invited.name} as admin of {target.name}.")
                    reset_widgets("admin_name", "admin_email", "admin_phone")
                    st.rerun()
