"""Cohort's router: settings → database → who is signed in → the pages that role may open → run."""

import streamlit as st

from app.identity.onboarding import needs_onboarding
from app.ui import access_gate, admission, auth, bootstrap, chrome, nav

st.set_page_config(page_title="Cohort", page_icon=":material/school:", layout="wide")
chrome.styles()
bootstrap.production_guard()

bootstrap.ensure_database()
user = auth.current_user()
st.session_state[auth.CURRENT] = user
auth.write_cookie()  # after a sign-in or sign-out: the session cookie for other processes

if st.query_params.get("attendance"):
    # A one-time attendance link works without signing in; the link itself is the permission.
    page = st.navigation(nav.attendance_link_pages(), position="hidden")
elif st.query_params.get("credential"):
    # Public badge verification: anyone holding the credential's unguessable id may check it.
    page = st.navigation(nav.verify_badge_pages(), position="hidden")
elif st.query_params.get("access_request"):
    # An access request's status: the unguessable token shown after submitting is the permission.
    page = st.navigation(nav.access_request_status_pages(), position="hidden")
elif user is None:
    page = st.navigation(nav.sign_in_pages(), position="hidden")
elif needs_onboarding(user.consent_version):
    page = st.navigation(nav.onboarding_pages(), position="hidden")
elif access_gate.must_set_new_password(user):
    # An approved password reset: choose the new password before anything else.
    page = st.navigation(nav.new_password_pages(), position="hidden")
else:
    page = st.navigation(
        nav.pages_for(user.role), expanded=True
    )  # every page listed, none behind "View more"
    chrome.sidebar(user)  # after st.navigation, so its page links resolve
with admission.page_run():  # fragment reruns (a tap on a sheet) do not wait here
    page.run()
