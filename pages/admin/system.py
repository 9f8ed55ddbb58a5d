"""System: health checks, job runs, and the outbox with filters and retry."""

import streamlit as st

from app.core.roles import Role
from app.notify import service as notify
from app.notify.models import Channel, Status
from app.ui import auth, system
from app.ui.components import act, flash, read, show_flash, table

user, actor = auth.guard(Role.ADMIN, Role.SUPER_ADMIN)
st.title("System")
show_flash()

st.subheader("Health")
checks = system.health_checks()
table(
    [{"": "✓" if c.ok else "✗", "Check": c.name, "Detail": c.detail} for c in checks], key="health"
)

st.subheader("Job runs")
runs = system.job_runs()
table(
    [
        {
            "Job": r.job,
            "Period": r.period,
            "Started (UTC)": r.started_at,
            "Finished (UTC)": r.finished_at,
            "Outcome": r.outcome,
            "Counts": ", ".join(
                f"{k}: {v}" for k, v in (r.counts or {}).items() if v not in (0, [], None)
            ),
            "Error": r.error or "",
        }
        for r in runs
    ],
    key="job_runs",
)
if actor.is_super_admin:
    jobs = system.job_names()
    c1, c2 = st.columns([2, 1])
    chosen = c1.selectbox("Run a job now", jobs, key="run_job_name")
    if c2.button("Run now", key="run_job"):
        record = system.run_job_now(chosen)
        flash(
            f"{chosen}: {record.outcome}" + (f" — {record.error}" if record.error else ""),
            "success" if record.outcome == "ok" else "error",
        )
        st.rerun()

st.subheader("Outbox")
counts = read(actor, notify.outbox_counts)
st.caption(" · ".join(f"{status}: {counts.get(status, 0)}" for status in [s.value for s in Status]))
f1, f2 = st.columns(2)
status = f1.selectbox("Status", ["All"] + [s.value for s in Status], key="outbox_status")
channel = f2.selectbox("Channel", ["All"] + [c.value for c in Channel], key="outbox_channel")
messages = read(
    actor,
    notify.list_outbox,
    status=None if status == "All" else status,
    channel=None if channel == "All" else channel,
)
table(
    [
        {
            "#": m.id,
            "Created (UTC)": m.created_at,
            "Channel": m.channel,
            "To": m.recipient,
            "Status": m.status,
            "Attempts": m.attempts,
            "Next attempt (UTC)": m.next_attempt_at,
            "Error": m.last_error or "",
            "Text": m.text[:80],
        }
        for m in messages
    ],
    key="outbox",
)
retryable = [
    m
    for m in messages
    if m.status in (Status.FAILED.value, Status.BLOCKED.value, Status.SUPPRESSED.value)
    and m.channel == Channel.TELEGRAM.value
    and m.recipient
]
if retryable:
    c1, c2 = st.columns([2, 1])
    picked = c1.selectbox(
        "Message to retry",
        [m.id for m in retryable],
        format_func=lambda i: next(
            f"#{m.id} to {m.recipient} ({m.status})" for m in retryable if m.id == i
        ),
        key="retry_pick",
    )
    if c2.button("Retry", key="retry_message") and act(actor, notify.retry, notification_id=picked):
        flash(f"Message #{picked} is queued again.")
        st.rerun()
