"""Risk (staff): who is slipping and why — by level and batch, the trend, one student's breakdown,
recompute now, and (admins) the weights and thresholds with a preview."""

import plotly.express as px
import streamlit as st

from app.academics import service as academics
from app.core.roles import Role
from app.core.text import plural
from app.risk import service as risk
from app.ui import auth
from app.ui.components import act, flash, read, show_flash, table
from app.ui.risk import LEVEL_BADGE
from app.ui.safe import esc, markup

user, actor = auth.guard(Role.ADMIN, Role.TEACHER, Role.COUNSELOR)
st.title("Student risk")
st.caption(
    "Advisory early warning from attendance, homework, fees and tests. It points to students who "
    "may need help; it is never a judgement, and students do not see it."
)
show_flash()

counts = read(actor, risk.level_counts)
c1, c2, c3, c4 = st.columns([1, 1, 1, 1.3])
c1.metric("High", counts["HIGH"])
c2.metric("Medium", counts["MEDIUM"])
c3.metric("Low", counts["LOW"])
if actor.role in (Role.ADMIN, Role.TEACHER) and c4.button(
    "Recompute now", key="risk_recompute", icon=":material/refresh:"
):
    done = act(actor, risk.recompute_now)
    if done:
        flash(
            f"Recomputed {plural(done.students, 'student')}: {done.levels['HIGH']} high, "
            f"{done.levels['MEDIUM']} medium; {plural(done.events, 'level change')}."
        )
        st.rerun()

students_tab, trend_tab, *admin_tabs = st.tabs(
    ["Students", "Trend"] + (["Settings"] if actor.role == Role.ADMIN else [])
)

with students_tab:
    f1, f2 = st.columns(2)
    batches = read(actor, academics.list_batches)
    batch = f1.selectbox(
        "Batch",
        [None] + batches,
        format_func=lambda b: "All batches" if b is None else b.name,
        key="risk_batch",
    )
    level = f2.selectbox("Level", ["All", "HIGH", "MEDIUM", "LOW"], key="risk_level")
    rows = read(
        actor,
        risk.list_profiles,
        level=None if level == "All" else level,
        batch_id=batch.id if batch else None,
    )

    def fmt(value):
        return None if value is None else round(value)

    table(
        [
            {
                "Student": r.name,
                "Enrollment": r.enrollment_no,
                "Level": r.level,
                "Score": r.score,
                "Attendance": fmt(r.attendance),
                "Homework": fmt(r.homework),
                "Fees": fmt(r.fees),
                "Tests": fmt(r.tests),
                "Why": r.reasons[0] if r.reasons else "",
            }
            for r in rows
        ],
        key="risk_table",
    )
    if rows:
        pick = st.selectbox(
            "Student detail",
            rows,
            format_func=lambda r: f"{r.name} · {r.enrollment_no}",
            key="risk_student",
        )
        detail = read(actor, risk.student_risk, student_id=pick.student_id)
        if detail:
            r = detail.row
            st.markdown(
                f"### {esc(r.name)} · {markup(LEVEL_BADGE[r.level])}"
                + (f" · score {r.score:g}" if r.score is not None else "")
            )
            cols = st.columns(4)
            for col, (label, value) in zip(
                cols,
                [
                    ("Attendance", r.attendance),
                    ("Homework", r.homework),
                    ("Fees", r.fees),
                    ("Tests", r.tests),
                ],
                strict=True,
            ):
                col.metric(label, "no data" if value is None else f"{value:g}")
            for reason in r.reasons:
                st.markdown(f"- {esc(reason)}")
            st.caption(
                f"Scored {detail.computed_at:%d %b %Y %H:%M} UTC. Scores are recomputed every "
                "morning and with Recompute now; a profile changes only when its numbers do."
            )
            if detail.events:
                table(
                    [
                        {
                            "When": e.created_at,
                            "From": e.from_level or "—",
                            "To": e.to_level,
                            "Score": e.score,
                        }
                        for e in detail.events
                    ],
                    key="risk_events",
                )

with trend_tab:
    days = st.select_slider("Days", options=[14, 30, 60, 90], value=30, key="risk_days")
    points = read(actor, risk.trend, days=days)
    if points:
        long = [
            {"Date": p["date"], "Level": lvl, "Students": p[lvl]}
            for p in points
            for lvl in ("HIGH", "MEDIUM", "LOW")
        ]
        fig = px.area(
            long,
            x="Date",
            y="Students",
            color="Level",
            color_discrete_map={"HIGH": "#d62728", "MEDIUM": "#ff7f0e", "LOW": "#2ca02c"},
        )
        fig.update_layout(height=320, margin={"l": 0, "r": 0, "t": 10, "b": 0})
        st.plotly_chart(fig, width="stretch")
        with st.expander("Table"):
            table(points, key="risk_trend_table")

if admin_tabs:
    with admin_tabs[0]:
        current = read(actor, risk.get_settings)
        with st.form("risk_settings"):
            st.caption(
                "Weights are relative (a factor without data is left out and the rest rescaled). "
                "Critical flags raise a student to at least MEDIUM."
            )
            w1, w2, w3, w4 = st.columns(4)
            changes = {
                "weight_attendance": w1.number_input(
                    "Attendance weight", 0, 100, current.weight_attendance
                ),
                "weight_homework": w2.number_input(
                    "Homework weight", 0, 100, current.weight_homework
                ),
                "weight_fees": w3.number_input("Fees weight", 0, 100, current.weight_fees),
                "weight_tests": w4.number_input("Tests weight", 0, 100, current.weight_tests),
            }
            t1, t2, t3 = st.columns(3)
            changes["window_days"] = t1.number_input("Window (days)", 7, 365, current.window_days)
            changes["low_min"] = t2.number_input(
                "LOW from score", 1.0, 100.0, float(current.low_min)
            )
            changes["medium_min"] = t3.number_input(
                "MEDIUM from score", 1.0, 100.0, float(current.medium_min)
            )
            g1, g2, g3 = st.columns(3)
            changes["attendance_flag_percent"] = g1.number_input(
                "Flag attendance below (%)", 0.0, 100.0, float(current.attendance_flag_percent)
            )
            changes["fee_overdue_flag_days"] = g2.number_input(
                "Flag fees overdue more than (days)", 1, 365, current.fee_overdue_flag_days
            )
            changes["pass_percent"] = g3.number_input(
                "Pass mark (%)", 0.0, 100.0, float(current.pass_percent)
            )
            p1, p2 = st.columns(2)
            preview_clicked = p1.form_submit_button("Preview")
            save_clicked = p2.form_submit_button("Save", type="primary")
        if preview_clicked:
            preview = act(actor, risk.preview_settings, readonly=True, changes=changes)
            if preview:
                st.info(
                    f"{esc(preview.changed)} of {plural(preview.students, 'student')} would change level: "
                    f"HIGH {esc(preview.before['HIGH'])} → {esc(preview.after['HIGH'])}, "
                    f"MEDIUM {esc(preview.before['MEDIUM'])} → {esc(preview.after['MEDIUM'])}, "
                    f"LOW {esc(preview.before['LOW'])} → {esc(preview.after['LOW'])}."
                )
        if save_clicked and act(actor, risk.update_settings, changes=changes):
            flash("Risk settings saved. They apply from the next recompute.")
            st.rerun()
        useful = read(actor, risk.action_usefulness)
        if useful and useful["total"]:
            st.subheader("What staff did with risk actions")
            table(
                [
                    {"Outcome": k.replace("_", " "), "Actions": v, "Share %": useful["shares"][k]}
                    for k, v in sorted(useful["counts"].items())
                ],
                key="risk_usefulness",
            )
