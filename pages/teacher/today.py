"""Today (teachers' landing; admins see every teacher): sessions with their state, open actions."""

from datetime import time
from zoneinfo import ZoneInfo

import streamlit as st

from app.academics import service as academics
from app.attendance import service as attendance
from app.attendance.models import SessionStatus
from app.brief import service as brief_service
from app.core import clock
from app.core.money import format_money
from app.core.roles import Role
from app.core.text import plural
from app.inbox import service as inbox
from app.ui import auth, live
from app.ui.components import act, flash, read, read_recent, show_flash, table
from app.ui.risk import high_risk_panel
from app.ui.safe import esc, markup

user, actor = auth.guard(Role.TEACHER, Role.ADMIN)
tz = ZoneInfo(user.institute_timezone)
today = clock.today_in(user.institute_timezone)
st.title("Today")
show_flash()
day = st.date_input("Classes on", value=today, key="today_day")
st.caption(f"{day:%A %d %B %Y}")

BADGE = {
    "scheduled": ":gray[scheduled]",
    "open": ":orange[attendance open]",
    "submitted": ":green[submitted]",
    "closed": ":green[closed]",
    "missed": ":red[missed]",
    "cancelled": ":gray[cancelled]",
    "rescheduled": ":gray[moved]",
}


@st.fragment(run_every=live.every())
def classes_today() -> None:
    """Re-read every LIVE_REFRESH_SECONDS: a sheet submitted on another device shows here."""
    c1, c2 = st.columns(2)
    cards = read(actor, attendance.sessions_for_day, day=day)
    c1.metric("Classes today" if day == today else "Classes", sum(1 for c in cards if c.held))
    c2.metric("Open actions", read(actor, inbox.open_count))

    if not cards:
        st.info("No classes today." if day == today else "No classes on this day.")
    for card in cards:
        with st.container(border=True):
            st.markdown(
                f"**{card.starts_at.astimezone(tz):%H:%M}–{card.ends_at.astimezone(tz):%H:%M} · {esc(card.batch)}**  \n"
                f"{esc(card.subject)}"
                + (f" · {esc(card.teacher)}" if actor.role == Role.ADMIN and card.teacher else "")
                + f"  \n{markup(BADGE.get(card.status, esc(card.status)))} · {plural(card.students, 'student')}"
                + (f" · {esc(card.marked)} marked" if card.marked else " · not taken")
            )
            if card.held and card.last_notes and not card.marked:
                st.caption(
                    f"From the last class ({card.last_notes_on:%a %d %b}): {esc(card.last_notes)}"
                )
            if not card.held:
                st.caption(
                    f"Not held: {esc(card.cancel_reason or '')}."
                    + (
                        f" Moved to {card.moved_to.astimezone(tz):%a %d %b, %H:%M}."
                        if card.moved_to
                        else ""
                    )
                )
                continue
            label = (
                "Take attendance"
                if card.status in (SessionStatus.SCHEDULED, SessionStatus.OPEN)
                else "View sheet"
            )
            if st.button(
                label,
                key=f"open_{card.id}",
                type="primary" if card.status == SessionStatus.OPEN else "secondary",
                width="stretch",
            ):
                st.session_state["sheet_session"] = card.id
                st.switch_page("pages/teacher/attendance.py")
            if (
                card.status in (SessionStatus.SCHEDULED, SessionStatus.OPEN, SessionStatus.MISSED)
                and not card.marked
            ):
                cancel_or_move(card)


def cancel_or_move(card: attendance.SessionCard) -> None:
    """Cancel the class, or move it to another date and time, with a reason people are told."""
    with st.expander("Cancel or move this class"):
        reason = st.text_input(
            "Reason (students and guardians are told)", key=f"why_{card.id}", max_chars=500
        )
        if st.button("Cancel this class", key=f"cancel_{card.id}") and act(
            actor, attendance.cancel_session, session_id=card.id, reason=reason
        ):
            flash("Class cancelled; students and guardians are told.")
            st.rerun()
        m1, m2 = st.columns(2)
        new_day = m1.date_input("New date", value=day, key=f"move_day_{card.id}")
        new_time = m2.time_input(
            "New time", value=card.starts_at.astimezone(tz).time(), key=f"move_time_{card.id}"
        )
        if st.button("Move this class", key=f"move_{card.id}") and act(
            actor,
            attendance.reschedule_session,
            session_id=card.id,
            day=new_day,
            start_time=new_time,
            reason=reason,
        ):
            flash(f"Class moved to {new_day:%a %d %b} at {new_time:%H:%M}; people are told.")
            st.rerun()


classes_today()
st.page_link("pages/teacher/inbox.py", label="Action inbox", icon=":material/inbox:")

my_batches = [b for b in read(actor, academics.list_batches) if b.active]
if my_batches:
    direct = actor.role == Role.ADMIN or read(actor, attendance.teachers_add_classes)
    with st.expander("Add an extra class" if direct else "Ask for an extra class"):
        with st.form("extra_request"):
            e_batch = st.selectbox("Batch", my_batches, format_func=lambda b: b.name, key="e_batch")
            e1, e2, e3 = st.columns(3)
            e_day = e1.date_input("Date", value=day, min_value=today, key="e_day")
            e_time = e2.time_input("Starts", value=time(16, 0), key="e_time")
            e_minutes = e3.number_input(
                "Minutes", min_value=5, max_value=600, value=60, key="e_minutes"
            )
            e_reason = st.text_input("Why", key="e_reason", max_chars=500)
            if st.form_submit_button("Add the class" if direct else "Ask an admin"):
                made = act(
                    actor,
                    attendance.request_extra_class,
                    batch_id=e_batch.id,
                    day=e_day,
                    start_time=e_time,
                    duration_minutes=int(e_minutes),
                    reason=e_reason,
                )
                if made:
                    flash(
                        "Extra class added."
                        if made.session_id
                        else "Asked: an admin decides in the action inbox."
                    )
                    st.rerun()
        asked = read(actor, attendance.my_extra_class_requests)
        if asked:
            table(
                [
                    {
                        "Batch": r.batch,
                        "Date": r.date,
                        "Starts": f"{r.start_time:%H:%M}",
                        "Minutes": r.duration_minutes,
                        "Status": r.status,
                        "Note": r.decision_note or "",
                    }
                    for r in asked
                ],
                key="extra_requests",
            )

if actor.role == Role.TEACHER:
    # The same brief the morning message carries; the classes and high-risk students are shown
    # in full above and below, so only the rest is listed here. Yesterday's absences, this
    # month's dues and homework due soon move slowly: read at most once a minute per browser.
    brief = read_recent(actor, brief_service.my_brief, seconds=60)
    st.subheader("Your brief")
    b1, b2, b3 = st.columns(3)
    b1.metric("Absent yesterday", len(brief.absentees))
    b2.metric("Fee dues this month", format_money(brief.fee_due_minor, brief.currency))
    b3.metric("Homework due soon", len(brief.homework))
    with st.expander("Details", expanded=False):
        st.markdown("**Absent yesterday**")
        if not brief.absentees:
            st.caption("Nobody.")
        for a in brief.absentees:
            st.markdown(f"- {esc(a.student)} ({esc(a.enrollment_no)}) · {esc(a.batch)}")
        st.markdown("**Fee dues this month**")
        if not brief.fee_dues:
            st.caption("None.")
        for d in brief.fee_dues:
            st.markdown(
                f"- {esc(d.student)} ({esc(d.enrollment_no)}) · {format_money(d.owed_minor, brief.currency)}"
                f" · {esc('overdue since' if d.overdue else 'due')} {d.due_on:%d %b}"
            )
        st.markdown("**Homework due soon**")
        if not brief.homework:
            st.caption("None.")
        for h in brief.homework:
            st.markdown(
                f"- {esc(h.title)} · {esc(h.batch)} · due {h.due_on:%a %d %b} · "
                f"{esc(h.not_handed_in)} not handed in"
            )
high_risk_panel(actor)
