"""Batches: create, schedule weekly classes, add and remove students; generate sessions."""

from datetime import time, timedelta

import streamlit as st

from app.academics import service as academics
from app.academics.models import BatchType
from app.attendance import service as attendance
from app.core import clock
from app.core.roles import Role
from app.ui import auth
from app.ui.components import act, flash, read, show_flash, table
from app.ui.safe import esc

user, actor = auth.guard(Role.ADMIN)
st.title("Batches")
show_flash()
subjects = read(actor, academics.list_subjects)
teachers = read(actor, academics.teachers)

with st.expander("New batch", icon=":material/add:"):
    if not subjects:
        st.info("Add a subject on Syllabus first.")
    else:
        with st.form("new_batch"):
            c1, c2 = st.columns(2)
            name = c1.text_input("Name", key="b_name", placeholder="Math X")
            subject = c2.selectbox(
                "Subject", subjects, format_func=lambda s: s.name, key="b_subject"
            )
            teacher = c1.selectbox(
                "Teacher",
                [None] + teachers,
                format_func=lambda t: "—" if t is None else t.name,
                key="b_teacher",
            )
            level = c2.text_input("Level", key="b_level", placeholder="Class X")
            kind = c1.selectbox("Type", [t.value for t in BatchType], key="b_type")
            capacity = c2.number_input(
                "Capacity (0 = no limit)", min_value=0, value=30, key="b_cap"
            )
            if st.form_submit_button("Create batch", type="primary"):
                made = act(
                    actor,
                    academics.create_batch,
                    name=name,
                    subject_id=subject.id,
                    teacher_user_id=teacher.id if teacher else None,
                    level=level,
                    type=kind,
                    capacity=int(capacity) or None,
                )
                if made:
                    flash(f"Created {made.name}.")
                    st.rerun()

batches = read(actor, academics.list_batches, include_inactive=True)
table(
    [
        {
            "Batch": b.name,
            "Subject": b.subject,
            "Teacher": b.teacher,
            "Students": b.members,
            "Capacity": b.capacity or "—",
            "Schedule": b.schedule,
            "Active": b.active,
        }
        for b in batches
    ],
    key="batches_table",
)

if batches:
    chosen = st.selectbox("Manage batch", batches, format_func=lambda b: b.name, key="b_pick")
    t1, t2, t3 = st.tabs(["Schedule", "Students", "Settings"])
    with t1:
        slots = read(actor, academics.batch_schedules, batch_id=chosen.id)
        for slot in slots:
            r1, r2 = st.columns([3, 1])
            r1.write(
                f"{esc(academics.WEEKDAYS[slot.weekday])} {slot.start_time:%H:%M} · {esc(slot.duration_minutes)} min"
            )
            if r2.button("Remove", key=f"slot_rm_{slot.id}") and act(
                actor, academics.remove_schedule, schedule_id=slot.id
            ):
                flash("Weekly class removed; past sessions stay.")
                st.rerun()
        with st.form("extra_class"):
            x1, x2, x3 = st.columns(3)
            x_day = x1.date_input(
                "Extra class on", value=clock.today_in(user.institute_timezone), key="x_day"
            )
            x_start = x2.time_input("Starts", value=time(16, 0), key="x_start")
            x_minutes = x3.number_input(
                "Minutes", min_value=5, max_value=600, value=60, key="x_minutes"
            )
            if st.form_submit_button("Add an extra class"):
                if act(
                    actor,
                    attendance.create_adhoc_session,
                    batch_id=chosen.id,
                    day=x_day,
                    start_time=x_start,
                    duration_minutes=int(x_minutes),
                ):
                    flash("Extra class added.")
                    st.rerun()
    with t1, st.form("add_slot"):
        c1, c2, c3 = st.columns(3)
        weekday = c1.selectbox(
            "Day", list(range(7)), format_func=lambda d: academics.WEEKDAYS[d], key="s_day"
        )
        start = c2.time_input("Starts", value=time(17, 0), key="s_start")
        minutes = c3.number_input("Minutes", min_value=5, max_value=600, value=60, key="s_minutes")
        if st.form_submit_button("Add weekly class"):
            if act(
                actor,
                academics.add_schedule,
                batch_id=chosen.id,
                weekday=weekday,
                start_time=start,
                duration_minutes=int(minutes),
            ):
                act(
                    actor,
                    attendance.generate_for,
                    start=clock.today_in(user.institute_timezone),
                    end=clock.today_in(user.institute_timezone) + timedelta(days=1),
                )
                flash("Weekly class added.")
                st.rerun()
    with t2:
        members = read(actor, academics.list_students, batch_id=chosen.id)
        table(
            [{"Enrollment": s.enrollment_no, "Name": s.name} for s in members], key="members_table"
        )
        everyone = read(actor, academics.list_students)
        outside = [s for s in everyone if s.id not in {m.id for m in members}]
        c1, c2 = st.columns([3, 1])
        add = c1.selectbox(
            "Add a student",
            outside,
            format_func=lambda s: f"{s.name} · {s.enrollment_no}",
            key="m_add",
        )
        if (
            add
            and c2.button("Add", key="m_add_btn")
            and act(actor, academics.join_batch, batch_id=chosen.id, student_id=add.id)
        ):
            flash(f"{add.name} joined {chosen.name}.")
            st.rerun()
        if members:
            remove = c1.selectbox(
                "Remove a student", members, format_func=lambda s: s.name, key="m_remove"
            )
            if c2.button("Remove", key="m_remove_btn") and act(
                actor, academics.leave_batch, batch_id=chosen.id, student_id=remove.id
            ):
                flash(f"{remove.name} left {chosen.name}; their history stays.")
                st.rerun()
    with t3:
        if chosen.active and st.button(
            "Close this batch", key="b_close", help="Soft delete: history stays"
        ):
            if act(actor, academics.update_batch, batch_id=chosen.id, active=False):
                flash(f"{chosen.name} is closed.")
                st.rerun()
        if not chosen.active and st.button("Reopen this batch", key="b_reopen"):
            if act(actor, academics.update_batch, batch_id=chosen.id, active=True):
                st.rerun()

st.subheader("Holidays")
st.caption(
    "No class is created on a holiday; the day's classes already created and not taken are "
    "cancelled, and their students and guardians told. Removing a holiday puts the classes it "
    "cancelled back on while they are still ahead (and tells their people)."
)
today = clock.today_in(user.institute_timezone)
holidays = read(actor, attendance.list_holidays, start=today - timedelta(days=30))
table(
    [{"Date": h.date, "Holiday": h.name, "For": h.batch or "Whole institute"} for h in holidays],
    key="holidays_table",
    empty="No holidays from last month on.",
)
with st.form("holiday_add"):
    h1, h2 = st.columns(2)
    h_day = h1.date_input("Date", value=today, key="h_day")
    h_name = h2.text_input("Name", key="h_name", placeholder="Diwali")
    h_batches = st.multiselect(
        "Only for these batches (none: the whole institute)",
        [b for b in batches if b.active],
        format_func=lambda b: b.name,
        key="h_batches",
    )
    if st.form_submit_button("Add holiday") and act(
        actor,
        attendance.add_holiday,
        day=h_day,
        name=h_name,
        batch_ids=[b.id for b in h_batches],
    ):
        flash(f"{h_name} added: its classes are cancelled and students told.")
        st.rerun()
if holidays:
    r1, r2 = st.columns([3, 1])
    gone = r1.selectbox(
        "Remove a holiday",
        holidays,
        format_func=lambda h: f"{h.date:%d %b %Y} · {h.name} · {h.batch or 'Whole institute'}",
        key="h_remove",
    )
    if r2.button("Remove", key="h_remove_btn") and act(
        actor, attendance.remove_holiday, holiday_id=gone.id
    ):
        flash(f"{gone.name} removed; its classes still ahead are on again.")
        st.rerun()

allowed = read(actor, attendance.teachers_add_classes)
wanted = st.toggle(
    "Teachers add extra classes to their batches without an admin's approval",
    value=allowed,
    key="teachers_add_classes",
)
if wanted != allowed and act(actor, attendance.set_teachers_add_classes, allowed=wanted):
    flash("Saved: teachers add extra classes directly." if wanted else "Saved: teachers ask first.")
    st.rerun()

st.subheader("Teachers")
profiles = read(actor, academics.teacher_profiles)
table(
    [
        {
            "Teacher": u.name,
            "Specialization": p.specialization if p else "",
            "Hourly rate": p.hourly_rate_minor / 100 if p and p.hourly_rate_minor else "",
            "Max hours/day": p.max_hours_per_day if p else "",
        }
        for u, p in profiles
    ],
    key="teacher_profiles",
)
if profiles:
    with st.form("teacher_profile"):
        who = st.selectbox(
            "Teacher", profiles, format_func=lambda pair: pair[0].name, key="tp_user"
        )
        p1, p2, p3 = st.columns(3)
        spec = p1.text_input("Specialization", key="tp_spec")
        rate = p2.number_input("Hourly rate", min_value=0.0, value=0.0, step=50.0, key="tp_rate")
        hours = p3.number_input(
            "Max hours per day", min_value=1, max_value=24, value=6, key="tp_hours"
        )
        if st.form_submit_button("Save profile"):
            if act(
                actor,
                academics.save_teacher_profile,
                user_id=who[0].id,
                specialization=spec or None,
                hourly_rate_minor=int(round(rate * 100)) or None,
                max_hours_per_day=int(hours),
            ):
                flash(f"Saved {who[0].name}'s profile.")
                st.rerun()
