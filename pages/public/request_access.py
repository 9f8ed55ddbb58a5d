"""Request access (no sign-in): ask an institute's admins for an account; `?access_request=<token>`
shows what became of the request."""

from zoneinfo import ZoneInfo

import streamlit as st

from app.access import service as access
from app.core.db import session_scope
from app.core.statuses import RequestStatus
from app.ui import access_gate, auth, components
from app.ui.safe import esc

SUBMITTED = "access_request_submitted"
ROLES = {"student": "Student", "teacher": "Teacher"}

token = st.query_params.get("access_request", "")
if token:
    st.title("Your access request")
    with session_scope(system=True) as session:
        view = access.access_request_status(session, token=token)
    if view is None:
        st.warning("No access request has this link. Check the link you were given.")
        st.stop()
    st.markdown(
        f"**{esc(view.name)}** asked **{esc(view.institute)}** for a {esc(ROLES[view.role].lower())} account "
        f"on {view.created_at.astimezone(ZoneInfo('UTC')):%d %b %Y, %H:%M} UTC."
    )
    if view.status == RequestStatus.PENDING:
        st.info("Waiting for an admin of the institute to decide. Check this page again later.")
    elif view.status == "approved":
        st.success(
            "Approved. You are on the institute's allowlist: sign in with the email or phone you "
            "gave (Google, or a Telegram code), or use the password link your admin shares with you."
        )
        st.markdown("[Go to sign-in](/)")
    else:
        st.error("Not approved.")
        st.markdown("**The admin's reason**")
        st.text(view.reason or "")
    st.stop()

st.title("Request access")
st.caption(
    "Ask an institute for a Cohort account. Its admins decide; you get a link to follow your "
    "request."
)
done = st.session_state.get(SUBMITTED)
if done:
    st.success("Thank you: your request is with the institute's admins.")
    st.markdown("Keep this link to see their decision (it is the only way to follow it):")
    st.code(access.status_link_url(done), language=None)
    if st.button("Send another request", key="request_again"):
        st.session_state.pop(SUBMITTED, None)
        st.rerun()
    st.stop()

with session_scope(system=True) as session:
    institutes = access.public_institutes(session)
if not institutes:
    st.info("No institute takes requests right now.")
    st.stop()
names = {i.id: i.name for i in institutes}

with st.form("request_access"):
    institute_id = st.selectbox(
        "Institute", list(names), format_func=names.get, index=None, key="ra_institute"
    )
    name = st.text_input("Your name", key="ra_name")
    c1, c2 = st.columns(2)
    email = c1.text_input("Email", key="ra_email", placeholder="name@example.com")
    phone = c2.text_input("Phone", key="ra_phone", placeholder="+91 98765 43210")
    role = st.radio("I am a", list(ROLES), format_func=ROLES.get, horizontal=True, key="ra_role")
    message = st.text_area("Message to the admins (optional)", key="ra_message", max_chars=1000)
    honeypot = components.honeypot("ra_website")
    submitted = st.form_submit_button("Send request", type="primary")
if submitted:
    with session_scope(system=True) as session:
        result = access.submit_access_request(
            session,
            institute_id=institute_id,
            name=name,
            email=email,
            phone=phone,
            role=role,
            message=message,
            honeypot=honeypot,
            client=access_gate.client_address(),
            source=auth.source(),
        )
    if result.error:
        st.error(result.error)
    else:
        st.session_state[SUBMITTED] = result.token
        st.rerun()
st.page_link("pages/public/sign_in.py", label="Back to sign-in", icon=":material/login:")
