"""My account (every role): who you are here, your name and phone, password, Telegram, consent."""

import streamlit as st

from app.access import service as access
from app.bot import linking as bot_linking
from app.core.roles import Role
from app.core.statuses import RequestStatus
from app.identity import credentials, onboarding
from app.identity import service as identity
from app.ui import auth
from app.ui.components import act, flash, phone_text, read, reset_widgets, show_flash
from app.ui.safe import esc

user, actor = auth.guard(*Role)
st.title("My account")
show_flash()

c1, c2 = st.columns(2)
c1.markdown(f"**Role**  \n{esc(user.role.label)}")
c2.markdown(f"**Institute**  \n{esc(user.institute_name or 'All institutes')}")
c1.markdown(f"**Email**  \n{esc(user.email or '—')}")
c2.markdown(f"**Phone**  \n{esc(phone_text(user, user.phone) or '—')}")

with st.form("my_account"):
    st.subheader("Details")
    name = st.text_input("Name", value=user.name, key="me_name")
    phone = st.text_input("Phone", value=user.phone or "", key="me_phone")
    if st.form_submit_button("Save", type="primary"):
        if act(actor, identity.update_my_account, name=name, phone=phone):
            flash("Saved.")
            st.rerun()

with st.form("change_password"):
    st.subheader("Password")
    st.caption(
        "For signing in with your email or phone. At least 8 characters; a long phrase is best."
    )
    current = st.text_input(
        "Current password (leave empty if you never set one)", type="password", key="pw_current"
    )
    new = st.text_input("New password", type="password", key="pw_new")
    confirm = st.text_input("Repeat the new password", type="password", key="pw_confirm")
    if st.form_submit_button("Change password"):
        if act(actor, credentials.change_password, current=current, new=new, confirm=confirm):
            flash("Your password is changed.")
            reset_widgets("pw_current", "pw_new", "pw_confirm")
            st.rerun()

if user.institute_id is not None:
    with st.container(border=True):
        st.markdown("**Forgot your password?**")
        pending_reset = read(actor, access.my_password_request)
        if pending_reset is not None and pending_reset.status == RequestStatus.PENDING:
            st.info(
                f"You asked for a password reset on {pending_reset.created_at:%d %b, %H:%M} UTC; "
                "an admin will decide soon."
            )
        else:
            if pending_reset is not None and pending_reset.status == RequestStatus.REJECTED:
                st.warning(
                    f"Your last password reset was not approved: {esc(pending_reset.reason)}"
                )
            st.caption(
                "Ask your admins for a reset: once they approve, you choose a new password at "
                "your next sign-in."
            )
            if st.button("Ask for a password reset", key="ask_password_reset"):
                if act(actor, access.request_password_change):
                    flash("Your admins have your request for a password reset.")
                    st.rerun()

with st.container(border=True):
    st.subheader("Telegram")
    st.caption(
        "Sign-in codes, class reminders with a Take attendance button, and your inbox items "
        "reach you in Telegram once your chat is linked."
    )
    if user.institute_id is not None:
        linked = read(actor, bot_linking.my_chat_linked)
        if linked:
            st.success("Your Telegram chat is linked.")
            if st.button("Unlink my Telegram chat", key="tg_unlink"):
                if act(actor, bot_linking.unlink_me):
                    flash("Your Telegram chat is unlinked: Cohort sends it nothing more.")
                    st.rerun()
        if st.button(
            "Link another Telegram chat" if linked else "Link my Telegram chat", key="tg_link"
        ):
            offer = act(actor, bot_linking.my_link)
            if offer is not None:
                st.session_state["tg_offer"] = offer.url
        if st.session_state.get("tg_offer"):
            st.link_button("Open Telegram to link", st.session_state["tg_offer"], type="primary")
            st.caption(
                "Or open this link on the phone that has Telegram. It works once, for a day; "
                "in Telegram, press Start."
            )
            st.code(st.session_state["tg_offer"], language=None)
    if actor.role in (Role.ADMIN, Role.SUPER_ADMIN):
        with st.expander("Type a chat id instead (admins)"), st.form("telegram_chat"):
            chat = st.text_input("Telegram chat id", key="me_chat")
            if st.form_submit_button("Save chat id"):
                if act(actor, identity.set_telegram_chat, user_id=actor.user_id, chat_id=chat):
                    flash("Saved your Telegram chat.")
                    st.rerun()

st.subheader("Data-use consent")
history = read(actor, onboarding.consent_history)
if history:
    st.caption(
        f"You accepted version {esc(history[0].version)} on {history[0].accepted_at:%d %b %Y, %H:%M} UTC."
    )
with st.expander("Read it again"):
    st.markdown(onboarding.CONSENT_TEXT)
