"""Admin Overview: the institute at a glance (users by role and status for now)."""

import streamlit as st

from app.core.roles import Role
from app.identity import service as identity
from app.identity.bootstrap import BOOTSTRAP_WARNING, dismiss_bootstrap_warning
from app.identity.models import UserStatus
from app.ui import auth
from app.ui.components import act, read, table
from app.ui.risk import high_risk_panel

user, actor = auth.guard(Role.ADMIN)
st.title("Overview")
st.caption(user.institute_name or "")

if user.bootstrap_warning:
    with st.container(border=True):
        st.warning(BOOTSTRAP_WARNING, icon=":material/warning:")
        st.caption(
            "These admins came from ADMIN_EMAILS / AUTH_ADMIN_PHONE on the first start. Review the "
            "allowlist on Users, then remove those settings from the environment."
        )
        if st.button("Dismiss", key="dismiss_bootstrap") and act(actor, dismiss_bootstrap_warning):
            st.rerun()

counts = read(actor, identity.user_counts)
roles = [Role.ADMIN, Role.TEACHER, Role.COUNSELOR, Role.STUDENT]
columns = st.columns(len(roles))
for column, role in zip(columns, roles, strict=True):
    active = counts.get((role.value, UserStatus.ACTIVE.value), 0)
    invited = counts.get((role.value, UserStatus.INVITED.value), 0)
    column.metric(
        f"{role.label}s",
        active,
        help="Active users",
        delta=f"{invited} invited" if invited else None,
        delta_color="off",
    )

st.subheader("Users by role and status")
table(
    [
        {
            "Role": role.label,
            **{
                status.value.title(): counts.get((role.value, status.value), 0)
                for status in UserStatus
            },
            "Total": sum(counts.get((role.value, s.value), 0) for s in UserStatus),
        }
        for role in roles
    ],
    key="overview_counts",
)

high_risk_panel(actor)
