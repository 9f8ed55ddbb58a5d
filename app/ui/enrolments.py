"""The enrolment status control, one for every page that changes it (the students register for
admins, the report card for admins and a student's teachers)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.academics import service as academics
from app.core.tenancy import Actor
from app.ui.components import act, flash


def status_form(
    actor: Actor, enrolments: list[Any], *, student: str, key: str, pick_key: str
) -> tuple[Any, str]:
    """Pick one of a student's enrolments ((enrolment, subject, teacher) rows) and move it to
    a new status on a day, with a reason; returns the enrolment picked and its subject. Widget keys start with
    `key` and end with the enrolment's id; `pick_key` names the picker (one per student)."""
    by_id = {e.id: (e, subject) for e, subject, _teacher in enrolments}
    picked = st.selectbox(
        "Enrolment",
        list(by_id),
        format_func=lambda i: f"{by_id[i][1]} ({by_id[i][0].status})",
        key=pick_key,
    )
    enrolment, subject = by_id[picked]
    with st.form(f"{key}_status_{enrolment.id}"):
        s1, s2 = st.columns(2)
        new = s1.selectbox(
            "New status",
            sorted(academics.TRANSITIONS.get(enrolment.status, set())),
            key=f"{key}_new_{enrolment.id}",
        )
        day = s2.date_input("On", value=None, key=f"{key}_on_{enrolment.id}", help="Today if empty")
        reason = st.text_input(
            "Reason",
            max_chars=300,
            key=f"{key}_reason_{enrolment.id}",
            help="Needed to pause or drop",
        )
        if st.form_submit_button("Change status"):
            changed = act(
                actor,
                academics.change_enrolment_status,
                enrolment_id=enrolment.id,
                status=new,
                reason=reason,
                on=day,
            )
            if changed is not None:
                flash(f"{student}'s {subject} enrolment is now {new}.")
                st.rerun()
    return enrolment, subject
