"""System: health checks, job runs, backups (super admin), the institute's data export
(institute admin) and the outbox with filters and retry."""

import streamlit as st

from app.core.config import get_settings
from app.core.roles import Role
from app.notify import service as notify
from app.notify.models import Channel, Status
from app.system import backup, export
from app.ui import auth, live, system
from app.ui.components import act, flash, read, show_flash, table
from app.ui.safe import esc

user, actor = auth.guard(Role.ADMIN, Role.SUPER_ADMIN)
st.title("System")
show_flash()


@st.fragment(run_every=live.every())
def health_and_jobs() -> None:
    """Re-read every LIVE_REFRESH_SECONDS without a full rerun."""
    st.subheader("Health")
    checks = system.health_checks()
    table(
        [{"": "✓" if c.ok else "✗", "Check": c.name, "Detail": c.detail} for c in checks],
        key="health",
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


health_and_jobs()

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

if actor.is_super_admin:
    st.subheader("Backups")
    settings = get_settings()
    st.caption(
        f"A backup of the whole deployment is taken daily (job `backup_database`) into "
        f"`{esc(backup.backup_dir())}`; the newest {esc(settings.BACKUP_KEEP)} are kept. "
        "Check one with `scripts/restore_drill.py`."
    )
    if st.button("Backup now", key="backup_now"):
        with st.spinner("Backing up the whole database…"):
            taken = act(actor, backup.backup_now)
        if taken is not None:
            flash(f"Backed up to {taken.name} ({taken.total_rows:,} rows, {taken.size:,} bytes).")
            st.rerun()
    taken_list = system.backup_list(actor)
    table(
        [
            {
                "File": b.name,
                "Taken (UTC)": b.created_at,
                "Database": b.dialect,
                "Size (bytes)": b.size,
                "Rows": b.total_rows,
                "Migration": b.manifest.get("alembic_revision") or "",
            }
            for b in taken_list
        ],
        key="backups",
    )
    if taken_list:
        latest = taken_list[0]
        st.download_button(
            "Download latest backup",
            data=system.backup_download(actor, latest.name),
            file_name=latest.name,
            mime="application/octet-stream",
            key="download_backup",
            on_click="ignore",
        )
else:

    def _forget_export() -> None:
        st.session_state.pop("export_ready", None)

    st.subheader("Export data")
    st.caption(
        "Your institute's data as a zip of CSV files or an Excel workbook (one sheet per table). "
        "Names, contacts, dates of birth and payment references are redacted unless you include "
        "them; every export is recorded in the audit log."
    )
    choices = {t.name: t.label for t in export.exportable_tables(actor=actor)}
    e1, e2 = st.columns([1, 2])
    fmt = e1.radio(
        "Format",
        ["csv", "xlsx"],
        format_func={"csv": "CSV (zip)", "xlsx": "Excel"}.get,
        key="export_format",
        on_change=_forget_export,
    )
    picked = e2.multiselect(
        "Tables",
        list(choices),
        default=list(choices),
        format_func=choices.get,
        key="export_tables",
        on_change=_forget_export,
    )
    personal = st.checkbox(
        "Include personal data (names, phones, emails, dates of birth, guardian contacts)",
        key="export_personal",
        on_change=_forget_export,
    )
    if st.button("Prepare export", key="prepare_export"):
        with st.spinner("Preparing the export…"):
            built = act(
                actor, system.build_export, format=fmt, tables=picked, include_personal=personal
            )
        if built is not None:
            st.session_state["export_ready"] = built
    ready = st.session_state.get("export_ready")
    if ready is not None:
        payload, summary = ready
        st.success(
            f"Export ready: {sum(summary.rows.values()):,} rows in {len(summary.rows)} tables"
            + (
                " — includes personal data."
                if summary.include_personal
                else ", personal data redacted."
            )
        )
        st.download_button(
            "Download export",
            data=payload,
            file_name=summary.filename,
            mime=summary.mime,
            key="download_export",
            on_click="ignore",
        )


@st.fragment(run_every=live.every())
def outbox() -> None:
    """Re-read every LIVE_REFRESH_SECONDS: messages leave the outbox while you watch."""
    st.subheader("Outbox")
    counts = read(actor, notify.outbox_counts)
    st.caption(
        " · ".join(
            f"{esc(status)}: {esc(counts.get(status, 0))}" for status in [s.value for s in Status]
        )
    )
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
        if c2.button("Retry", key="retry_message") and act(
            actor, notify.retry, notification_id=picked
        ):
            flash(f"Message #{picked} is queued again.")
            st.rerun()


outbox()
