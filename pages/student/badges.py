"""My badges (students): earned badges, progress toward skills and programs, requests,
and each award's credential to download."""

import json

import streamlit as st

from app.badges import credentials
from app.badges import service as badges
from app.core.roles import Role
from app.ui import auth
from app.ui.components import act, flash, read, show_flash
from app.ui.safe import esc

user, actor = auth.guard(Role.STUDENT)
st.title("My badges")
show_flash()
if not read(actor, badges.has_student_record):
    st.info("Your account is not linked to a student record yet; ask the office.")
    st.stop()
wall = read(actor, badges.wall)
st.subheader("Earned")
if not wall.earned:
    st.caption("No badges yet. Request one below when you have evidence.")
for e in wall.earned:
    state = " · revoked" if e.revoked else (" · under review" if e.needs_review else "")
    c1, c2, c3 = st.columns([3, 1, 1])
    c1.markdown(
        f"{esc(e.emoji)} **{esc(e.name)}** ({esc(e.kind)}) · {e.awarded_at:%d %b %Y}{esc(state)}"
    )
    if not e.revoked:
        credential, token = read(actor, credentials.credential_for, award_id=e.award_id)
        c2.download_button(
            "Credential (.jwt)",
            data=token,
            file_name=f"{e.name}.jwt",
            mime="application/jwt",
            key=f"jwt_{e.award_id}",
        )
        c3.download_button(
            "Credential (.json)",
            data=json.dumps(credential, indent=2, ensure_ascii=False),
            file_name=f"{e.name}.json",
            mime="application/json",
            key=f"json_{e.award_id}",
        )
        c1.caption(f"Anyone can check it at {esc(credentials.verification_url(e.credential_id))}")
st.subheader("Progress")
if not wall.progress:
    st.caption("Nothing in progress.")
for p in wall.progress:
    st.markdown(
        f"{esc(p.emoji)} **{esc(p.name)}** ({esc(p.kind)}): {esc(p.earned)} of {esc(p.needed)}"
    )
    st.progress(p.earned / p.needed if p.needed else 0.0)
    if p.missing:
        st.caption("Still to earn: " + ", ".join(p.missing))
st.subheader("Request a badge")
if wall.requestable:
    options = {f"{b.emoji} {b.name}": b.id for b in wall.requestable}
    with st.form("badge_request", clear_on_submit=True):
        label = st.selectbox("Badge", list(options))
        text = st.text_area("Your evidence")
        link = st.text_input("Link to your work (optional)")
        if st.form_submit_button("Request"):
            done = act(
                actor,
                badges.request_badge,
                badge_id=options[label],
                evidence_text=text,
                evidence_url=link,
            )
            if done:
                flash(f"Requested {label}; a teacher will look at it.")
                st.rerun()
else:
    st.caption("There is nothing to request right now.")
if wall.requests:
    st.subheader("My requests")
    for r in wall.requests:
        note = f" — {r.reason}" if r.reason else ""
        st.markdown(f"- {esc(r.badge)}: {esc(r.status)}{esc(note)}")
