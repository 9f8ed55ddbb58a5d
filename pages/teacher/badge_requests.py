"""Badge requests (teachers and admins): filter the queue, approve or reject with a reason."""

import streamlit as st

from app.badges import service as badges
from app.core.roles import Role
from app.ui import auth
from app.ui.components import act, flash, read, show_flash, table
from app.ui.safe import esc

user, actor = auth.guard(Role.ADMIN, Role.TEACHER)
st.title("Badge requests")
show_flash()
f1, f2, f3 = st.columns(3)
status = f1.selectbox("Status", ["pending", "approved", "rejected", "all"], key="br_status")
catalog = read(actor, badges.catalog)
choices = {"All badges": None} | {
    f"{b.emoji} {b.name}": b.id for b in catalog if b.kind in ("mini", "capstone")
}
badge_label = f2.selectbox("Badge", list(choices), key="br_badge")
search = f3.text_input("Student name contains", key="br_search")
rows = read(
    actor,
    badges.list_requests,
    status=None if status == "all" else status,
    badge_id=choices[badge_label],
    search=search,
)
table(
    [
        {
            "Requested": r.created_at.strftime("%d %b %Y %H:%M"),
            "Student": r.student,
            "Badge": r.badge,
            "Evidence": r.evidence_text,
            "Link": r.evidence_url or "",
            "Status": r.status,
            "Reason": r.reason or "",
        }
        for r in rows
    ],
    key="badge_requests",
)
for r in rows:
    if r.status != "pending":
        continue
    with st.expander(f"{esc(r.student)}: {esc(r.badge)}"):
        st.text(r.evidence_text or "(no text)")
        if r.evidence_url:
            # The student typed it: shown as text, and opened only as a web address.
            st.text(f"Evidence link: {r.evidence_url}")
            if r.evidence_url.lower().startswith(("https://", "http://")):
                st.link_button("Open the evidence link", r.evidence_url, key=f"br_link_{r.id}")
        reason = st.text_input("Reason (required to reject)", key=f"br_reason_{r.id}")
        c1, c2 = st.columns(2)
        if c1.button("Approve", key=f"br_approve_{r.id}", type="primary"):
            if act(actor, badges.decide, request_id=r.id, approve=True, reason=reason):
                flash(f"Approved: {r.student} now has {r.badge}.")
                st.rerun()
        if c2.button("Reject", key=f"br_reject_{r.id}"):
            if act(actor, badges.decide, request_id=r.id, approve=False, reason=reason):
                flash(f"Rejected {r.student}'s request for {r.badge}.", "info")
                st.rerun()
