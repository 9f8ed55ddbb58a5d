"""Access requests (people asking for an account) and password requests, decided by admins."""

import streamlit as st

from app.access import service as access
from app.core.roles import Role
from app.core.statuses import RequestStatus
from app.identity import credentials
from app.ui import auth
from app.ui.components import act, flash, phone_text, read, reset_widgets, show_flash, table
from app.ui.safe import esc

user, actor = auth.guard(Role.ADMIN)
st.title("Access requests")
show_flash()

link = st.session_state.get("request_link")
if link:
    with st.container(border=True):
        st.markdown(
            f"**{esc(link[0])} for {esc(link[1])}** — share it with them privately; it works once, for "
            f"{esc(credentials.get_settings().AUTH_PASSWORD_LINK_HOURS)} hours."
        )
        st.code(link[2], language=None)
        if st.button("Done", key="request_link_done"):
            st.session_state.pop("request_link", None)
            st.rerun()

counts = read(actor, access.pending_counts)
access_tab, password_tab = st.tabs(
    [
        f"Access requests ({int(counts['access'])})",
        f"Password requests ({int(counts['password'])})",
    ]
)

with access_tab:
    requests = read(actor, access.list_access_requests)
    pending = [r for r in requests if r.status == RequestStatus.PENDING]
    if not pending:
        st.success("No access request is waiting.")
    for r in pending:
        with st.container(border=True):
            st.markdown(
                f"**{esc(r.name)}** asks to join as a **{esc(r.role)}**  \n"
                f"{esc(' · '.join(x for x in (r.email, phone_text(user, r.phone)) if x))} · "
                f"{r.created_at:%d %b, %H:%M} UTC"
            )
            if r.message:
                st.text(r.message)
            c1, c2, c3 = st.columns([1, 2, 1])
            if c1.button("Approve", key=f"approve_access_{r.id}", type="primary"):
                approved = act(actor, access.approve_access_request, request_id=r.id)
                if approved:
                    st.session_state["request_link"] = (
                        "Invitation link",
                        approved.user.name,
                        credentials.password_link_url(approved.token),
                    )
                    flash(
                        f"Approved: {approved.user.name} is invited as {approved.user.role}. "
                        "They can sign in now."
                    )
                    st.rerun()
            reason = c2.text_input(
                "Reason (shown to the requester)",
                key=f"reject_access_reason_{r.id}",
                label_visibility="collapsed",
                placeholder="Reason for rejecting (shown to the requester)",
            )
            if c3.button("Reject", key=f"reject_access_{r.id}"):
                if act(actor, access.reject_access_request, request_id=r.id, reason=reason):
                    reset_widgets(f"reject_access_reason_{r.id}")
                    flash(f"Rejected the request of {r.name}.")
                    st.rerun()
    decided = [r for r in requests if r.status != RequestStatus.PENDING]
    if decided:
        st.subheader("Decided")
        table(
            [
                {
                    "Name": r.name,
                    "Contact": r.email or phone_text(user, r.phone),
                    "Role": r.role,
                    "Decision": r.status,
                    "When (UTC)": r.decided_at,
                    "Reason": r.reason or "",
                }
                for r in decided
            ],
            key="decided_access",
        )

with password_tab:
    st.caption(
        "People who cannot use their password ask here for a reset. Approved, they choose a new "
        "password when they next sign in (or with the one-time link you share)."
    )
    rows = read(actor, access.list_password_requests)
    pending_pw = [p for p in rows if p.request.status == RequestStatus.PENDING]
    if not pending_pw:
        st.success("No password request is waiting.")
    for p in pending_pw:
        req = p.request
        with st.container(border=True):
            st.markdown(
                f"**{esc(p.user_name)}** ({esc(p.user_role)}, {esc(p.user_contact)}) asks for a password reset · "
                f"{req.created_at:%d %b, %H:%M} UTC"
            )
            if req.note:
                st.text(req.note)
            c1, c2, c3 = st.columns([1, 2, 1])
            if c1.button("Approve", key=f"approve_password_{req.id}", type="primary"):
                result = act(actor, access.approve_password_request, request_id=req.id)
                if result:
                    _, token = result
                    if token:
                        st.session_state["request_link"] = (
                            "Password link",
                            p.user_name,
                            credentials.password_link_url(token),
                        )
                    flash(f"Approved: {p.user_name} sets a new password at their next sign-in.")
                    st.rerun()
            reason = c2.text_input(
                "Reason",
                key=f"reject_password_reason_{req.id}",
                label_visibility="collapsed",
                placeholder="Reason for rejecting (shown to the user)",
            )
            if c3.button("Reject", key=f"reject_password_{req.id}"):
                if act(actor, access.reject_password_request, request_id=req.id, reason=reason):
                    reset_widgets(f"reject_password_reason_{req.id}")
                    flash(f"Rejected the password request of {p.user_name}.")
                    st.rerun()
    decided_pw = [p for p in rows if p.request.status != RequestStatus.PENDING]
    if decided_pw:
        st.subheader("Decided")
        table(
            [
                {
                    "User": p.user_name,
                    "Decision": p.request.status,
                    "When (UTC)": p.request.decided_at,
                    "New password set (UTC)": p.request.completed_at,
                    "Reason": p.request.reason or "",
                }
                for p in decided_pw
            ],
            key="decided_password",
        )
