"""The frame around every signed-in page: who you are, where, and sign-out."""

from __future__ import annotations

import streamlit as st

from app.core.db import session_scope
from app.identity.service import SessionUser
from app.notify import service as notify
from app.ui import auth
from app.ui.safe import esc

# On a touch screen every table's toolbar (show columns, download, search, full screen) is
# always shown, floating 44 px above the grid over whatever is there (a caption, the filter
# above); a margin gives it its own room. With a mouse it only appears on hover.
STYLES = """<style>
@media (hover: none) {
  [data-testid="stDataFrame"] { margin-top: 2.75rem; }
}
</style>"""


def styles() -> None:
    """The few style rules Streamlit's theme has no setting for, on every page."""
    st.html(STYLES)


def sidebar(user: SessionUser) -> None:
    with st.sidebar:
        st.markdown(f"**{esc(user.name)}**")
        st.caption(f"{esc(user.role.label)} · {esc(user.institute_name or 'All institutes')}")
        if user.institute_id is not None:
            with session_scope(institute_id=user.institute_id, readonly=True) as session:
                unread = notify.unread_count(session, actor=user.actor())
            if unread:
                st.page_link(
                    "pages/common/messages.py",
                    label=f"{unread} new message{'s' if unread != 1 else ''}",
                    icon=":material/notifications_active:",
                )
        if st.button("Sign out", key="sign_out", icon=":material/logout:"):
            if not auth.sign_out("You have signed out."):
                st.rerun()
