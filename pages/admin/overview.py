"""Admin Overview: the institute at a glance — enrolment, attendance, money, risk, the funnel,
faculty utilization and announcements, for a date range and optionally one batch. Every chart
has its table one click away and a CSV download."""

from datetime import timedelta

import plotly.graph_objects as go
import streamlit as st

from app.academics import service as academics
from app.analytics import overview
from app.core import clock
from app.core.money import format_money, from_minor
from app.core.roles import Role
from app.identity import service as identity
from app.identity.bootstrap import BOOTSTRAP_WARNING, dismiss_bootstrap_warning
from app.identity.models import UserStatus
from app.notify import service as notify
from app.ui import auth
from app.ui.charts import bars, chart_block, figure, lines
from app.ui.components import act, read, table
from app.ui.risk import high_risk_panel
from app.ui.safe import esc

user, actor = auth.guard(Role.ADMIN)
st.title("Overview")
st.caption(user.institute_name or "")
currency = user.institute_currency

if user.bootstrap_warning:
    with st.container(border=True):
        st.warning(BOOTSTRAP_WARNING, icon=":material/warning:")
        st.caption(
            "These admins came from ADMIN_EMAILS / AUTH_ADMIN_PHONE on the first start. Review the "
            "allowlist on Users, then remove those settings from the environment."
        )
        if st.button("Dismiss", key="dismiss_bootstrap") and act(actor, dismiss_bootstrap_warning):
            st.rerun()

today = clock.today_in(user.institute_timezone)
batches = read(actor, academics.list_batches) or []
c1, c2, c3, c4 = st.columns([1, 1, 2, 1])
start = c1.date_input("From", value=today - timedelta(days=29), key="ov_start")
end = c2.date_input("To", value=today, key="ov_end")
batch = c3.selectbox(
    "Batch",
    [None] + batches,
    format_func=lambda b: "All batches" if b is None else f"{b.name} · {b.subject}",
    key="ov_batch",
)
weekly = c4.toggle("Weekly", value=(end - start).days > 62, key="ov_weekly")
filters = overview.Filters(start=start, end=end, batch_id=batch.id if batch else None)
trend = act(actor, overview.attendance_trend, readonly=True, filters=filters, weekly=weekly)
if trend is None:
    st.stop()

money = read(actor, overview.money, filters=filters)
enrolment = read(actor, overview.enrolment, filters=filters)
risk = read(actor, overview.risk)
present = sum(r["Present or late"] for r in trend)
marks = sum(r["Marks"] for r in trend)
active = sum(r["Students"] for r in enrolment["status"] if r["Status"] == "Active")
high = next((r["Students"] for r in risk["levels"] if r["Level"] == "HIGH"), 0)
m1, m2, m3, m4, m5 = st.columns(5)
m1.metric("Active students", active)
m2.metric("Attendance", f"{100 * present / marks:.1f}%" if marks else "—")
m3.metric(
    "Collected",
    format_money(money.collected, currency, compact=True),
    help=f"Payments in the range: {format_money(money.collected, currency)}",
)
m4.metric(
    "Outstanding",
    format_money(money.outstanding, currency, compact=True),
    help=f"Open invoices now: {format_money(money.outstanding, currency)}",
)
m5.metric("High risk", high)

left, right = st.columns(2)
with left:
    label = "Week of" if weekly else "Date"
    chart_block(
        "Attendance trend",
        trend,
        lines(label, "Attendance %"),
        key="ov_attendance",
        caption="Present or late ÷ marks that count (excused left out)"
        + (f", {batch.name} only." if batch else "."),
    )
with right:
    # A legend for bars that are not there confuses: when nothing was billed in the range (the
    # term's invoices went out before it), only collections are drawn, and the caption says why.
    series = ("Billed", "Collected") if money.billed else ("Collected",)
    chart_block(
        "Collections against billing",
        [
            {"Month": r["Month"]} | {s: float(from_minor(r[s], currency)) for s in series}
            for r in money.months
        ],
        bars("Month", *series),
        key="ov_money",
        empty_when_zero=True,
        caption=f"In {currency}, by month"
        + ("" if money.billed else "; nothing was billed in this range")
        + f". Outstanding now: {format_money(money.outstanding, currency)}.",
    )

left, right = st.columns(2)
with left:
    chart_block(
        "Receivables by age",
        [
            {"Bucket": r["Bucket"], "Open": float(from_minor(r["Open"], currency))}
            for r in money.aging
        ],
        bars("Bucket", "Open"),
        key="ov_aging",
        empty_when_zero=True,
        caption=f"Open balances in {currency} by days past due (instalments aged one by one).",
    )
with right:
    chart_block(
        "Risk levels",
        risk["levels"],
        bars("Level", "Students"),
        key="ov_risk",
        empty_when_zero=True,
        caption="Advisory scores from the daily recompute.",
    )

left, right = st.columns(2)
with left:
    chart_block(
        "Risk over the last 30 days",
        risk["trend"],
        lines("Date", "HIGH", "MEDIUM"),
        key="ov_risk_trend",
        empty_when_zero=True,
    )
with right:
    funnel = read(actor, overview.funnel, filters=filters)
    chart_block(
        "Conversion funnel",
        funnel,
        lambda f: figure(go.Funnel(y=f["Stage"], x=f["Inquiries"])),
        key="ov_funnel",
        empty_when_zero=True,
        caption=f"Inquiries received since {start:%d %b %Y} and how far they got.",
    )

left, right = st.columns(2)
with left:
    chart_block(
        "Enrolment",
        enrolment["joined"],
        bars("Month", "Joined a batch"),
        key="ov_joined",
        caption="Students joining a batch, by month.",
    )
with right:
    chart_block(
        "Students by status", enrolment["status"], bars("Status", "Students"), key="ov_status"
    )

chart_block(
    "Faculty utilization",
    read(actor, overview.utilization, filters=filters),
    bars("Teacher", "Hours taught", "Capacity (hours)"),
    key="ov_utilization",
    caption="Hours of classes taught against each teacher's maximum hours a day × teaching days "
    "(Mon–Sat). Set the maximum on the teacher's profile to see utilization.",
)

high_risk_panel(actor)

st.subheader("Announcements")
announcements = read(actor, notify.list_announcements, limit=5) or []
if not announcements:
    st.caption("No announcements yet.")
for a in announcements:
    st.markdown(f"**{esc(a.title)}** · {a.created_at:%d %b %Y}  \n{esc(a.body)}")

with st.expander("Users by role and status"):
    counts = read(actor, identity.user_counts)
    roles = [Role.ADMIN, Role.TEACHER, Role.COUNSELOR, Role.STUDENT]
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
