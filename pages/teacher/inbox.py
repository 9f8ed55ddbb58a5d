"""The action inbox: why, for whom, since when — and one click to deal with it."""

import streamlit as st

from app.academics import service as academics
from app.access import service as access
from app.attendance import service as attendance
from app.core.roles import Role
from app.inbox import service as inbox
from app.inbox.models import ActionType, Outcome
from app.ui import auth, live
from app.ui.components import act, flash, read, show_flash
from app.ui.safe import esc

LABELS = {
    Outcome.REVIEWED: "Reviewed",
    Outcome.NOTIFIED_GUARDIAN: "Notify guardian",
    Outcome.RESOLVED: "Resolve",
    Outcome.IGNORED: "Ignore",
}

user, actor = auth.guard(Role.TEACHER, Role.ADMIN, Role.COUNSELOR)
st.title("Action inbox")
show_flash()
if actor.role == Role.ADMIN:
    waiting = read(actor, access.pending_counts)
    if waiting["access"] or waiting["password"]:
        st.page_link(
            "pages/admin/access_requests.py",
            label=f"Waiting for you: {waiting['access']} access requests, "
            f"{waiting['password']} password requests",
            icon=":material/person_add:",
        )
type_filter = st.selectbox(
    "Type",
    ["All"] + [t.value for t in ActionType],
    key="inbox_type",
    format_func=lambda v: v.replace("_", " ").capitalize(),
)
batches = read(actor, academics.list_batches)
batch_filter = st.selectbox(
    "Batch",
    [None] + [b.id for b in batches],
    key="inbox_batch",
    format_func=lambda b: (
        "All batches" if b is None else next(x.name for x in batches if x.id == b)
    ),
)


@st.fragment(run_every=live.every())
def open_actions() -> None:
    """Re-read every LIVE_REFRESH_SECONDS: actions raised meanwhile appear without a rerun."""
    items = read(
        actor,
        inbox.list_actions,
        type=None if type_filter == "All" else type_filter,
        batch_id=batch_filter,
    )
    if not items:
        st.success("Nothing waiting. Well done.")
    for item in items:
        with st.container(border=True):
            kind = item.type.replace("_", " ").capitalize()
            about = item.student or item.batch
            st.markdown(f"**{esc(kind)}** · {esc(about)}" if about else f"**{esc(kind)}**")
            st.markdown(esc(item.reason))
            st.caption(
                f"Since {item.created_at:%d %b, %H:%M}"
                + (f" · {esc(item.batch)}" if item.batch else "")
            )
            note = st.text_input(
                "Note (needed to ignore; sent as the message when notifying the guardian)"
                if item.can_notify_guardian
                else "Note (needed to ignore)",
                key=f"note_{item.id}",
            )
            if item.type == ActionType.EXTRA_CLASS_REQUEST.value:
                if actor.role != Role.ADMIN:
                    continue
                yes, no = st.columns(2)
                for column, approve, label in ((yes, True, "Approve"), (no, False, "Reject")):
                    if column.button(label, key=f"extra_{approve}_{item.id}", width="stretch"):
                        if act(
                            actor,
                            attendance.decide_extra_class_for_action,
                            action_id=item.id,
                            approve=approve,
                            note=note,
                        ):
                            flash(
                                "Approved: the class is on the schedule."
                                if approve
                                else "Rejected."
                            )
                            st.rerun()
                continue
            outcomes = item.outcomes
            for col, outcome in zip(st.columns(len(outcomes)), outcomes, strict=True):
                label = LABELS[outcome]
                if col.button(label, key=f"{outcome.value}_{item.id}", width="stretch"):
                    if act(actor, inbox.act, action_id=item.id, outcome=outcome.value, note=note):
                        flash(f"Done: {label.lower()}.")
                        st.rerun()


open_actions()
