"""Enquire (no sign-in): ask an institute about its courses; the enquiry lands in its Pipeline."""

import streamlit as st

from app.access import service as access
from app.core.db import session_scope
from app.crm import public
from app.ui import access_gate, auth, components

SENT = "enquiry_sent"

st.title("Send an enquiry")
st.caption("Ask an institute about its courses; a counselor contacts you.")
if st.session_state.get(SENT):
    st.success(public.THANKS)
    if st.button("Send another enquiry", key="enquire_again"):
        st.session_state.pop(SENT, None)
        st.rerun()
    st.stop()

with session_scope(system=True) as session:
    institutes = access.public_institutes(session)
if not institutes:
    st.info("No institute takes enquiries right now.")
    st.stop()
names = {i.id: i.name for i in institutes}
institute_id = st.selectbox(
    "Institute", list(names), format_func=names.get, index=None, key="enq_institute"
)
subjects: dict[int, str] = {}
if institute_id is not None:
    with session_scope(system=True) as session:
        subjects = dict(public.offered_subjects(session, institute_id=institute_id))

with st.form("enquire"):
    name = st.text_input("Student's name", key="enq_name")
    c1, c2 = st.columns(2)
    phone = c1.text_input("Phone", key="enq_phone", placeholder="+91 98765 43210")
    email = c2.text_input("Email", key="enq_email", placeholder="name@example.com")
    chosen = st.multiselect(
        "Interested in", list(subjects), format_func=subjects.get, key="enq_subjects"
    )
    message = st.text_area(
        "Anything we should know (optional)", key="enq_message", max_chars=public.MAX_MESSAGE
    )
    honeypot = components.honeypot("enq_website")
    submitted = st.form_submit_button("Send enquiry", type="primary")
if submitted:
    with session_scope(system=True) as session:
        result = public.submit_public_inquiry(
            session,
            institute_id=institute_id,
            student_name=name,
            phone=phone,
            email=email,
            subject_ids=list(chosen),
            message=message,
            honeypot=honeypot,
            client=access_gate.client_address(),
            source=auth.source(),
        )
    if result.error:
        st.error(result.error)
    else:
        st.session_state[SENT] = True
        st.rerun()
st.page_link("pages/public/sign_in.py", label="Back to sign-in", icon=":material/login:")
