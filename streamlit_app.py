"""Cohort's router: settings → database → who is signed in → the pages that role may open → run."""

import streamlit as st

from app.core.config import get_settings
from app.ui import auth, bootstrap, chrome, nav

st.set_page_config(page_title="Cohort", page_icon=":material/school:", layout="wide")

settings = get_settings()
bootstrap.ensure_database()
user = auth.current_user()
st.session_state[auth.CURRENT] = user

if user is None:
    page = st.navigation(nav.sign_in_pages(), position="hidden")
else:
    chrome.sidebar(user)
    page = st.navigation(nav.pages_for(user.role))
page.run()
