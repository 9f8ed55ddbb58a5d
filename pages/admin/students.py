"""Students register: search, add, and open a student's profile (enrolments and their status,
guardians)."""

import streamlit as st

from app.academics import service as academics
from app.academics.models import StudentStatus
from app.bot import linking as bot_linking
from app.core.roles import Role
from app.ui import auth
from app.ui import enrolments as enrolment_controls
from app.ui.components import act, flash, phone_text, read, reset_widgets, show_flash, table
from app.ui.safe import esc

user, actor = auth.guard(Role.ADMIN, Role.COUNSELOR)
st.title("Students register")
show_flash()

with st.expander("Add a student", icon=":material/person_add:"), st.form("add_student"):
    c1, c2 = st.columns(2)
    enrollment_no = c1.text_input("Enrollment number", key="st_enrol")
    name = c2.text_input("Name", key="st_name")
    phone = c1.text_input("Phone", key="st_phone")
    email = c2.text_input("Email", key="st_email")
    dob = c1.date_input("Date of birth", value=None, key="st_dob")
    style = c2.selectbox(
        "Learning style", ["", "visual", "auditory", "reading", "kinesthetic"], key="st_style"
    )
    if st.form_submit_button("Add student", type="primary"):
        made = act(
            actor,
            academics.create_student,
            enrollment_no=enrollment_no,
            name=name,
            phone=phone,
            email=email,
            date_of_birth=dob,
            learning_style=style or None,
        )
        if made:
            flash(f"Added {made.name} ({made.enrollment_no}).")
            reset_widgets("st_enrol", "st_name", "st_phone", "st_email")
            st.rerun()

c1, c2 = st.columns([2, 1])
search = c1.text_input("Search name, enrollment number or phone", key="st_search")
status = c2.selectbox("Status", ["All"] + [s.value for s in StudentStatus], key="st_status")
students = read(
    actor, academics.list_students, search=search, status=None if status == "All" else status
)
table(
    [
        {
            "Enrollment": s.enrollment_no,
            "Name": s.name,
            "Phone": phone_text(user, s.phone),
            "Status": s.status,
        }
        for s in students
    ],
    key="students_table",
)

if students:
    st.subheader("Profile")
    by_label = {f"{s.name} · {s.enrollment_no}": s for s in students}
    chosen = by_label[st.selectbox("Student", list(by_label), key="st_pick")]
    new_status = st.selectbox(
        "Status",
        [s.value for s in StudentStatus],
        index=[s.value for s in StudentStatus].index(chosen.status),
        key=f"st_status_{chosen.id}",
    )
    if new_status != chosen.status and st.button("Save status", key="st_save_status"):
        if act(actor, academics.update_student, student_id=chosen.id, status=new_status):
            flash(f"{chosen.name} is now {new_status}.")
            st.rerun()
    with st.form(f"edit_student_{chosen.id}"):
        e1, e2 = st.columns(2)
        e_name = e1.text_input("Name", value=chosen.name, key=f"e_name_{chosen.id}")
        e_phone = e2.text_input("Phone", value=chosen.phone or "", key=f"e_phone_{chosen.id}")
        e_email = e1.text_input("Email", value=chosen.email or "", key=f"e_email_{chosen.id}")
        e_dob = e2.date_input("Date of birth", value=chosen.date_of_birth, key=f"e_dob_{chosen.id}")
        advisers = {c.id: c.name for c in read(actor, academics.counselors) or []}
        options = [None, *advisers]
        e_counselor = e1.selectbox(
            "Counselor",
            options,
            index=options.index(chosen.counselor_user_id)
            if chosen.counselor_user_id in options
            else 0,
            format_func=lambda uid: "None" if uid is None else advisers[uid],
            key=f"e_counselor_{chosen.id}",
        )
        if st.form_submit_button("Save details"):
            if act(
                actor,
                academics.update_student,
                student_id=chosen.id,
                name=e_name,
                phone=e_phone,
                email=e_email,
                date_of_birth=e_dob,
                counselor_user_id=e_counselor,
            ):
                flash(f"Saved {e_name}.")
                st.rerun()
    st.markdown("**Enrolments**")
    enrolments = read(actor, academics.enrolments_of, student_id=chosen.id)
    table(
        [
            {
                "Subject": subject,
                "Status": e.status,
                "Since": e.status_changed_on,
                "Reason": e.status_reason or "",
                "Completion %": round(e.completion_pct),
                "Teacher": teacher or "",
                "Started": e.started_on,
                "Expected completion": e.expected_completion,
                "Completed": e.completed_on,
            }
            for e, subject, teacher in enrolments
        ],
        key="enrolments_table",
        empty="Not enrolled in a subject yet.",
    )
    if enrolments and actor.role == Role.ADMIN:
        enrolment, subject_name = enrolment_controls.status_form(
            actor, enrolments, student=chosen.name, key="en", pick_key=f"en_pick_{chosen.id}"
        )
        teachers = read(actor, academics.teachers)
        teacher_ids = [None] + [t.id for t in teachers]
        teacher_names = {t.id: t.name for t in teachers}
        with st.form(f"en_edit_{enrolment.id}"):
            t1, t2 = st.columns(2)
            teacher_id = t1.selectbox(
                "Teacher",
                teacher_ids,
                index=teacher_ids.index(enrolment.teacher_user_id)
                if enrolment.teacher_user_id in teacher_ids
                else 0,
                format_func=lambda i: teacher_names.get(i, "—") if i else "—",
                key=f"en_teacher_{enrolment.id}",
            )
            expected = t2.date_input(
                "Expected completion",
                value=enrolment.expected_completion,
                key=f"en_expected_{enrolment.id}",
            )
            if st.form_submit_button("Save enrolment") and act(
                actor,
                academics.update_enrolment,
                enrolment_id=enrolment.id,
                teacher_user_id=teacher_id,
                expected_completion=expected,
            ):
                flash(f"Saved {chosen.name}'s {subject_name} enrolment.")
                st.rerun()
    subjects = read(actor, academics.list_subjects)
    if subjects:
        with st.form(f"enrol_{chosen.id}"):
            n1, n2 = st.columns(2)
            subject = n1.selectbox(
                "Enrol in", subjects, format_func=lambda s: s.name, key=f"enrol_subject_{chosen.id}"
            )
            expected = n2.date_input(
                "Expected completion", value=None, key=f"enrol_expected_{chosen.id}"
            )
            if st.form_submit_button("Enrol"):
                if act(
                    actor,
                    academics.enroll,
                    student_id=chosen.id,
                    subject_id=subject.id,
                    expected_completion=expected,
                ):
                    flash(f"{chosen.name} is enrolled in {subject.name}.")
                    st.rerun()
    guardians = read(actor, academics.guardians_of, student_id=chosen.id)
    table(
        [
            {
                "Guardian": g.name,
                "Relationship": g.relationship,
                "Phone": phone_text(user, g.phone),
                "Telegram": "linked" if g.telegram_chat_id else "not linked",
                "Monthly report": "yes" if g.progress_reports else "opted out",
            }
            for g in guardians
        ],
        key="guardians_table",
        empty="No guardian yet: add one below, so absences and fees reach the family.",
    )
    if guardians and actor.role in (Role.ADMIN, Role.COUNSELOR):
        for g in guardians:
            wanted = st.toggle(
                f"{esc(g.name)} gets the monthly progress report",
                value=g.progress_reports,
                key=f"g_reports_{g.id}",
            )
            if wanted != g.progress_reports and act(
                actor, academics.set_progress_reports, guardian_id=g.id, receive=wanted
            ):
                flash(
                    f"{g.name} {'gets' if wanted else 'no longer gets'} the monthly progress report."
                )
                st.rerun()
            t1, t2 = st.columns(2)
            if t1.button(f"Telegram link for {esc(g.name)}", key=f"g_tg_link_{g.id}"):
                offer = act(actor, bot_linking.guardian_link, guardian_id=g.id)
                if offer is not None:
                    st.session_state[f"g_tg_offer_{g.id}"] = offer.url
            if g.telegram_chat_id and t2.button(
                f"Unlink {esc(g.name)}'s Telegram", key=f"g_tg_unlink_{g.id}"
            ):
                if act(actor, bot_linking.unlink_guardian, guardian_id=g.id):
                    flash(f"{g.name}'s Telegram chat is unlinked.")
                    st.rerun()
            if st.session_state.get(f"g_tg_offer_{g.id}"):
                st.caption(
                    f"Send this to {esc(g.name)} (SMS, WhatsApp or on paper): opening it in "
                    "Telegram and pressing Start links their chat. It works once, for a day."
                )
                st.code(st.session_state[f"g_tg_offer_{g.id}"], language=None)
    with st.form("add_guardian"):
        g1, g2 = st.columns(2)
        g_name = g1.text_input("Guardian's name", key="g_name")
        g_rel = g2.selectbox("Relationship", ["mother", "father", "guardian", "other"], key="g_rel")
        g_phone = g1.text_input("Guardian's phone", key="g_phone")
        g_chat = (
            g2.text_input(
                "Guardian's Telegram chat id (or send them a link once added)", key="g_chat"
            )
            if actor.role == Role.ADMIN
            else None
        )
        if st.form_submit_button("Add guardian"):
            if act(
                actor,
                academics.add_guardian,
                student_id=chosen.id,
                name=g_name,
                phone=g_phone,
                telegram_chat_id=g_chat,
                relationship=g_rel,
            ):
                flash(f"Added a guardian for {chosen.name}.")
                reset_widgets("g_name", "g_phone", "g_chat")
                st.rerun()
