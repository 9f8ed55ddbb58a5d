"""Audit log: who did what, when — filter by person, action and dates; page through; export CSV."""

from datetime import timedelta

import streamlit as st

from app.core import audit
from app.core.roles import Role
from app.core.text import plural
from app.identity import service as identity
from app.ui import auth
from app.ui.components import act, read, show_flash, table
from app.ui.safe import esc

PAGE_SIZE = 50
ALL = "All"

user, actor = auth.guard(Role.ADMIN, Role.SUPER_ADMIN)
st.title("Audit log")
show_flash()


def _reset_page() -> None:
    st.session_state["audit_page"] = 1
    st.session_state.pop("audit_csv", None)


def _institute_changed() -> None:
    # Another institute's days may start at another time: its "today" sets the dates again.
    _reset_page()
    st.session_state.pop("audit_dates", None)


institute_id = None
if actor.is_super_admin:
    institutes = {i.id: i.name for i in read(actor, identity.list_institutes)}
    picked = st.selectbox(
        "Institute",
        [ALL, *institutes],
        format_func=lambda i: "All institutes" if i == ALL else institutes[i],
        key="audit_institute",
        on_change=_institute_changed,
    )
    institute_id = None if picked == ALL else picked

choices = read(actor, audit.filter_choices, institute_id=institute_id)
f1, f2, f3 = st.columns([2, 2, 3])
who = f1.selectbox(
    "User",
    [ALL, *choices.users],
    format_func=lambda u: ALL if u == ALL else f"{choices.users[u]} (#{u})",
    key="audit_user",
    on_change=_reset_page,
)
prefixes = sorted({a.split(".")[0] + "." for a in choices.actions if "." in a})
action = f2.selectbox(
    "Action",
    [ALL, *prefixes, *choices.actions],
    format_func=lambda a: ALL if a == ALL else (f"{a}* (all)" if a.endswith(".") else a),
    key="audit_action",
    on_change=_reset_page,
)
# Dates are the institute's days (UTC for the super admin's "all institutes"), so is today.
today = read(actor, audit.viewer_today, institute_id=institute_id)
dates = f3.date_input(
    "Dates",
    value=(today - timedelta(days=30), today),
    key="audit_dates",
    on_change=_reset_page,
)
date_from, date_to = (tuple(dates) + (None, None))[:2] if dates else (None, None)
filters = audit.AuditFilter(
    institute_id=institute_id,
    user_id=None if who == ALL else who,
    action=None if action == ALL else action,
    date_from=date_from,
    date_to=date_to or date_from,
)

page_no = st.session_state.get("audit_page", 1)
found = act(actor, audit.search_entries, filters=filters, page=page_no, page_size=PAGE_SIZE)
if found is not None:
    st.caption(
        f"{plural(found.total, 'entry', 'entries')} · page {esc(found.page)} of {esc(found.pages)} · times in UTC"
        + ("" if actor.is_super_admin else " · dates in your institute's timezone")
    )
    table(
        [
            {
                "#": e.id,
                "At (UTC)": e.at,
                **({"Institute": e.institute_id} if actor.is_super_admin else {}),
                "User": e.actor_name or ("system" if e.actor_user_id is None else ""),
                "Role": e.actor_role or "",
                "Action": e.action,
                "Target": f"{e.target_type or ''} {e.target_id or ''}".strip(),
                "Detail": ", ".join(f"{k}: {v}" for k, v in (e.detail or {}).items())[:300],
                "Source": e.source or "",
            }
            for e in found.entries
        ],
        key="audit_entries",
    )
    p1, p2, _ = st.columns([1, 1, 4])
    if p1.button("Previous", key="audit_prev", disabled=found.page <= 1):
        st.session_state["audit_page"] = found.page - 1
        st.rerun()
    if p2.button("Next", key="audit_next", disabled=found.page >= found.pages):
        st.session_state["audit_page"] = found.page + 1
        st.rerun()

    if st.button("Export these entries (CSV)", key="audit_export"):
        exported = act(actor, audit.export_entries_csv, filters=filters)
        if exported is not None:
            st.session_state["audit_csv"] = exported
    if st.session_state.get("audit_csv") is not None:
        st.success("The export is ready; it is recorded in the audit log.")
        st.download_button(
            "Download CSV",
            data=st.session_state["audit_csv"],
            file_name="audit-log.csv",
            mime="text/csv",
            key="audit_download",
            on_click="ignore",
        )
