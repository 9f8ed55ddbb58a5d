"""Rewards & penalties (teachers, counselors, admins): give points to one student or several at once, see
the list and balances, and (admins) decide appeals."""

import streamlit as st

from app.core import clock
from app.core.roles import Role
from app.core.text import plural
from app.feedback import points
from app.feedback.models import PointsCategory
from app.ui import auth
from app.ui.components import act, flash, read, show_flash, table
from app.ui.safe import esc

user, actor = auth.guard(Role.ADMIN, Role.TEACHER, Role.COUNSELOR)
st.title("Rewards & penalties")
show_flash()
students = dict(read(actor, points.students_to_grant))
tabs = ["Give points", "History"] + (["Appeals"] if actor.role == Role.ADMIN else [])
give_tab, list_tab, *appeal_tabs = st.tabs(tabs)

with give_tab:
    if not students:
        st.info(
            "You have no students in your batches yet."
            if actor.role == Role.TEACHER
            else "No student has you as their counselor yet (set it on the student's record)."
            if actor.role == Role.COUNSELOR
            else "There are no active students yet."
        )
    else:
        with st.form("grant_points", clear_on_submit=True):
            chosen = st.multiselect(
                "Students", list(students), format_func=students.get, key="pts_students"
            )
            c1, c2, c3 = st.columns(3)
            kind = c1.radio("Type", ["reward", "penalty"], horizontal=True, key="pts_type")
            category = c2.selectbox(
                "Category", [c.value for c in PointsCategory], key="pts_category"
            )
            amount = c3.number_input(
                "Points", min_value=1, max_value=points.MAX_POINTS, value=10, key="pts_points"
            )
            reason = st.text_input(
                "Reason (the student reads it)", max_chars=points.MAX_REASON, key="pts_reason"
            )
            day = st.date_input(
                "Date", value=clock.today_in(user.institute_timezone), key="pts_date"
            )
            if st.form_submit_button("Give points", type="primary"):
                given = act(
                    actor,
                    points.grant_points,
                    student_ids=chosen,
                    type=kind,
                    category=category,
                    reason=reason,
                    points=int(amount),
                    on_date=day,
                )
                if given:
                    flash(f"Gave a {amount}-point {kind} to {plural(given, 'student')}.")
                    st.rerun()

with list_tab:
    c1, c2 = st.columns(2)
    who = c1.selectbox(
        "Student",
        [None, *students],
        format_func=lambda s: "All students" if s is None else students[s],
        key="pts_filter_student",
    )
    kind_filter = c2.selectbox("Type", ["All", "reward", "penalty"], key="pts_filter_type")
    rows = read(
        actor,
        points.list_points,
        student_id=who,
        type=None if kind_filter == "All" else kind_filter,
    )
    if who is not None:
        st.metric("Balance", read(actor, points.balances, student_ids=[who])[who])
    table(
        [
            {
                "Date": r.date,
                "Student": r.student,
                "Type": r.type,
                "Category": r.category,
                "Points": r.points,
                "Counts": r.signed_points,
                "Reason": r.reason,
                "Given by": r.given_by or "automatic",
                "Status": r.status + (f" ({r.appeal_outcome})" if r.appeal_outcome else ""),
            }
            for r in rows
        ],
        key="pts_table",
    )
    balances = read(actor, points.balances, student_ids=list(students)) if students else {}
    if balances:
        with st.expander("Balances"):
            table(
                sorted(
                    (
                        {"Student": students[sid], "Balance": total}
                        for sid, total in balances.items()
                    ),
                    key=lambda x: (-x["Balance"], x["Student"]),
                ),
                key="pts_balances",
            )

if appeal_tabs:
    with appeal_tabs[0]:
        queue = read(actor, points.appeals_queue)
        if not queue:
            st.caption("No appeals waiting.")
        for r in queue:
            with st.expander(f"{esc(r.student)}: −{esc(r.points)} · {esc(r.reason)}"):
                st.markdown(f"Given on {r.date:%d %b %Y} by {esc(r.given_by or 'the system')}.")
                st.markdown(f"**Appeal:** {esc(r.appeal_text)}")
                with st.form(f"appeal_{r.id}"):
                    outcome = st.radio(
                        "Decision",
                        ["reversed", "upheld"],
                        format_func=lambda o: (
                            "Reverse (the penalty stops counting)"
                            if o == "reversed"
                            else "Uphold (the penalty stands)"
                        ),
                        key=f"appeal_outcome_{r.id}",
                    )
                    note = st.text_area("Note to the student", key=f"appeal_note_{r.id}")
                    if st.form_submit_button("Decide") and act(
                        actor, points.review_appeal, entry_id=r.id, outcome=outcome, note=note
                    ):
                        flash(f"Appeal of {r.student} {outcome}.")
                        st.rerun()
