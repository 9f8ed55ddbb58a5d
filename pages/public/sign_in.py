"""Sign in: Google (when configured) and, in development, dev sign-in as a seeded user."""

import streamlit as st

from app.ui import signin

signin.render()
st.divider()
st.page_link(
    "pages/public/request_access.py",
    label="No account yet? Request access",
    icon=":material/how_to_reg:",
)
st.page_link(
    "pages/public/enquire.py",
    label="Interested in a course? Send an enquiry",
    icon=":material/contact_support:",
)
