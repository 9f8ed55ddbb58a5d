"""Users: the allowlist. Admins manage teachers, counselors and students; teachers manage students."""

import streamlit as st

from app.core import audit
from app.core.roles import Role, manageable_roles
from app.identity import credentials
from app.identity import service as identity
from app.identity.models import UserStatus
from app.ui import auth
from app.ui.components import act, flash, phone_text, read, reset_widgets, show_flash, table
from app.ui.safe import esc

user, actor = auth.guard(Role.ADMIN, Role.TEACHER)
roles = sorted(manageable_roles(actor.role), key=list(Role).index)
st.title("Users" if actor.role == Role.ADMIN else "Students")
show_flash()

with st.expander("Invite someone", expanded=False, icon=":material/person_add:"):
    with st.form("invite_user"):
        name = st.text_input("Name", key="invite_name")
        c1, c2 = st.columns(2)
        email = c1.text_input("Email", key="invite_email", placeholder="name@example.com")
        phone = c2.text_input("Phone", key="invite_phone", placeholder="+91 98765 43210")
        role = st.selectbox(
            "Role", [r.value for r in roles], format_func=lambda v: Role(v).label, key="invite_role"
        )
        submitted = st.form_submit_button("Invite", type="primary")
    if submitted:
        invited = act(actor, identity.invite_user, name=name, email=email, phone=phone, role=role)
        if invited:
            token = act(
                actor, credentials.create_password_link, user_id=invited.id, purpose="invitation"
            )
            st.session_state["password_link"] = (
                (invited.name, credentials.password_link_url(token)) if token else None
            )
            flash(
                f"Invited {invited.name} as {Role(invited.role).label.lower()}. They can sign in now."
            )
            reset_widgets("invite_name", "invite_email", "invite_phone")
            st.rerun()

link = st.session_state.get("password_link")
if link:
    with st.container(border=True):
        st.markdown(
            f"**Password link for {esc(link[0])}** — share it with them privately; it works once, for "
            f"{esc(credentials.get_settings().AUTH_PASSWORD_LINK_HOURS)} hours."
        )
        st.code(link[1], language=None)
        if st.button("Done", key="password_link_done"):
            st.session_state.pop("password_link", None)
            st.rerun()

f1, f2, f3 = st.columns([2, 1, 1])
search = f1.text_input("Search name, email or phone", key="user_search")
role_filter = f2.selectbox(
    "Role",
    ["All"] + [r.value for r in roles],
    key="user_role_filter",
    format_func=lambda v: v if v == "All" else Role(v).label,
)
status_filter = f3.selectbox(
    "Status",
    ["All"] + [s.value for s in UserStatus],
    key="user_status_filter",
    format_func=lambda v: v.title(),
)
users = read(
    actor,
    identity.list_users,
    search=search,
    role=None if role_filter == "All" else role_filter,
    status=None if status_filter == "All" else status_filter,
)
table(
    [
        {
            "Name": u.name,
            "Email": u.email,
            "Phone": phone_text(user, u.phone),
            "Role": Role(u.role).label,
            "Status": u.status.title(),
            "Last sign-in": u.last_sign_in_at,
        }
        for u in users
    ],
    key="users_table",
)

if users:
    st.subheader("Change a user")
    by_label = {f"{u.name} · {u.email or phone_text(user, u.phone)} · {u.status}": u for u in users}
    chosen = by_label[st.selectbox("User", list(by_label), key="manage_user")]
    b1, b2, b3, b4 = st.columns([1, 1, 1, 1])
    if chosen.status != UserStatus.ACTIVE.value and b1.button("Activate", key="activate_user"):
        if act(actor, identity.set_user_status, user_id=chosen.id, status=UserStatus.ACTIVE.value):
            flash(f"{chosen.name} is active.")
            st.rerun()
    if chosen.status != UserStatus.DISABLED.value and b2.button(
        "Deactivate", key="deactivate_user"
    ):
        if act(
            actor, identity.set_user_status, user_id=chosen.id, status=UserStatus.DISABLED.value
        ):
            flash(f"{chosen.name} is deactivated and signed out everywhere.")
            st.rerun()
    if len(roles) > 1:
        new_role = b3.selectbox(
            "New role",
            [r.value for r in roles],
            key="new_role",
            format_func=lambda v: Role(v).label,
            label_visibility="collapsed",
        )
        if b4.button("Change role", key="change_role"):
            if act(actor, identity.change_role, user_id=chosen.id, role=new_role):
                flash(f"{chosen.name} is now {Role(new_role).label.lower()}.")
                st.rerun()

    c1, c2 = st.columns([2, 1])
    chat = c1.text_input(
        "Telegram chat id (receives sign-in codes)",
        value=chosen.telegram_chat_id or "",
        key=f"chat_{chosen.id}",
    )
    if c2.button("Save chat id", key="save_chat"):
        if act(actor, identity.set_telegram_chat, user_id=chosen.id, chat_id=chat):
            flash(f"Saved the Telegram chat of {chosen.name}.")
            st.rerun()
    if chosen.status != UserStatus.DISABLED.value and st.button(
        "Make a password link", key="password_link_make", help="For a first password or a reset"
    ):
        token = act(actor, credentials.create_password_link, user_id=chosen.id, purpose="reset")
        if token:
            st.session_state["password_link"] = (chosen.name, credentials.password_link_url(token))
            st.rerun()

if actor.role == Role.ADMIN:
    st.subheader("Recent changes")
    entries = read(actor, audit.list_entries, action_prefix="user.", limit=20)
    table(
        [
            {
                "When (UTC)": e.at,
                "Who": e.actor_name,
                "Action": e.action,
                "User #": e.target_id,
                "Detail": ", ".join(
                    f"{k}: {v}" for k, v in (e.detail or {}).items() if v is not None
                ),
            }
            for e in entries
        ],
        key="user_audit",
    )
