"""My points (students): balance, every reward and penalty with its reason, and appeals."""

import streamlit as st

from app.core.roles import Role
from app.feedback import points
from app.feedback import service as feedback
from app.ui import auth
from app.ui.components import act, flash, read, show_flash, table

user, actor = auth.guard(Role.STUDENT)
st.title("My points")
show_flash()
if not read(actor, feedback.has_student_record):
    st.info("Your account is not linked to a student record yet; ask the office.")
    st.stop()

mine = read(actor, points.my_points)
c1, c2, c3 = st.columns(3)
c1.metric("Balance", mine.balance)
c2.metric("Rewards", f"+{mine.rewards}")
c3.metric("Penalties", f"−{mine.penalties}")
st.caption("A penalty reversed on appeal no longer counts.")


def _state(r: points.PointsRow) -> str:
    if r.status == "appealed":
        return "appeal under review"
    if r.status == "resolved":
        return f"appeal {r.appeal_outcome}"
    return ""


st.subheader("History")
table(
    [
        {
            "Date": r.date,
            "Type": r.type,
            "Category": r.category,
            "Points": f"{r.signed_points:+d}" if r.signed_points else f"0 (was −{r.points})",
            "Reason": r.reason,
            "Given by": r.given_by or "automatic",
            "Appeal": _state(r),
            "Decision note": r.resolution_note or "",
        }
        for r in mine.history
    ],
    key="points_history",
)

appealable = [r for r in mine.history if r.can_appeal]
st.subheader("Appeal a penalty")
if not appealable:
    st.caption("You have no penalty to appeal.")
else:
    with st.form("appeal", clear_on_submit=True):
        pick = st.selectbox(
            "Penalty",
            appealable,
            format_func=lambda r: f"{r.date:%d %b %Y} · −{r.points} · {r.reason}",
        )
        text = st.text_area("Why should it be reconsidered?", max_chars=points.MAX_APPEAL)
        if st.form_submit_button("Send appeal") and act(
            actor, points.appeal_penalty, entry_id=pick.id, text=text
        ):
            flash("Appeal sent; an administrator will decide and you will see the note here.")
            st.rerun()
