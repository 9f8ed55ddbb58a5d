"""CRM analytics: the conversion funnel, conversion by source and by counselor, time to
conversion and the monthly trend — each chart with its table one click away."""

from datetime import timedelta

import plotly.express as px
import streamlit as st

from app.core import clock
from app.core.roles import Role
from app.crm import analytics
from app.ui import auth
from app.ui.components import read, table
from app.ui.safe import esc

user, actor = auth.guard(Role.COUNSELOR, Role.ADMIN)
st.title("CRM analytics")
today = clock.today_in(user.institute_timezone)
PERIODS = {
    "Last 90 days": today - timedelta(days=89),
    "Last 12 months": today - timedelta(days=364),
    "All time": None,
}
period = st.segmented_control(
    "Inquiries that came in", list(PERIODS), default="Last 12 months", key="crma_period"
)
since = PERIODS[period or "Last 12 months"]


def _layout(fig, height: int = 300):
    fig.update_layout(height=height, margin={"l": 0, "r": 0, "t": 10, "b": 0})
    return fig


steps = read(actor, analytics.funnel, since=since)
total = steps[0].count
if not total:
    st.info("No inquiries in this period yet.")
    st.stop()
enrolled = steps[-1].count
ttc = read(actor, analytics.time_to_conversion, since=since)
m1, m2, m3, m4 = st.columns(4)
m1.metric("Inquiries", f"{total:,}")
m2.metric("Enrolled", f"{enrolled:,}")
m3.metric("Conversion rate", f"{steps[-1].share:g}%")
m4.metric("Median days to enrol", "—" if ttc.median_days is None else f"{ttc.median_days:g}")

funnel_tab, source_tab, counselor_tab, time_tab, trend_tab = st.tabs(
    ["Funnel", "By source", "By counselor", "Time to conversion", "Monthly"]
)
with funnel_tab:
    rows = [{"Stage": s.stage, "Inquiries": s.count, "% of all": s.share} for s in steps]
    st.plotly_chart(_layout(px.funnel(rows, x="Inquiries", y="Stage")), width="stretch")
    with st.expander("Table"):
        table(rows, key="crma_funnel")

with source_tab:
    rows = [
        {
            "Source": r.label,
            "Inquiries": r.inquiries,
            "Enrolled": r.enrolled,
            "Lost": r.lost,
            "Open": r.open,
            "Conversion %": r.rate,
        }
        for r in read(actor, analytics.by_source, since=since)
    ]
    st.plotly_chart(
        _layout(px.bar(rows, x="Source", y="Conversion %", hover_data=["Inquiries", "Enrolled"])),
        width="stretch",
    )
    with st.expander("Table"):
        table(rows, key="crma_source")

with counselor_tab:
    rows = [
        {
            "Counselor": r.counselor,
            "Inquiries": r.inquiries,
            "Enrolled": r.enrolled,
            "Lost": r.lost,
            "Open": r.open,
            "Conversion %": r.rate,
            "Contacts logged": r.follow_ups,
            "Median days to enrol": r.median_days_to_enrol,
        }
        for r in read(actor, analytics.by_counselor, since=since)
    ]
    st.plotly_chart(
        _layout(
            px.bar(
                rows,
                x="Counselor",
                y=["Enrolled", "Lost", "Open"],
                labels={"value": "Inquiries", "variable": "Outcome"},
            )
        ),
        width="stretch",
    )
    with st.expander("Table"):
        table(rows, key="crma_counselor")

with time_tab:
    rows = [{"Took": label, "Enrolments": n} for label, n in ttc.buckets]
    st.caption(
        f"{esc(ttc.enrolled)} enrolments; median {esc(ttc.median_days if ttc.median_days is not None else '—')}"
        f" days, mean {esc(ttc.mean_days if ttc.mean_days is not None else '—')} days from inquiry to "
        "enrolment."
    )
    st.plotly_chart(_layout(px.bar(rows, x="Took", y="Enrolments")), width="stretch")
    with st.expander("Table"):
        table(rows, key="crma_time")

with trend_tab:
    rows = read(actor, analytics.monthly, since=since)
    st.plotly_chart(
        _layout(px.line(rows, x="Month", y=["Inquiries", "Enrolled"], markers=True)),
        width="stretch",
    )
    with st.expander("Table"):
        table(rows, key="crma_monthly")
