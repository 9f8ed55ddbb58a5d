"""Holidays on Batches, cancelling and moving a class from Today (issue 22)."""

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlmodel import select

from app.academics import service as academics
from app.attendance import service as attendance
from app.attendance.models import ClassSession, Holiday
from app.core import clock
from app.core.roles import Role
from tests import factories as f
from tests.pages.apptest import app_as, errors, frame, open_page, texts

CLASS_START = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)  # Monday 10:00 in Asia/Kolkata
MONDAY = CLASS_START.date()


@pytest.fixture
def day(db):
    inst = f.institute(db, timezone="Asia/Kolkata")
    admin_user = f.user(db, inst, Role.ADMIN, email="boss@x.example")
    admin = f.actor_for(admin_user)
    teacher = f.user(db, inst, Role.TEACHER, email="tara@x.example", name="Tara Teacher")
    with clock.frozen(CLASS_START - timedelta(days=1)), db.scope(admin) as s:
        subject = academics.create_subject(s, actor=admin, name="Physics")
        batch = academics.create_batch(
            s, actor=admin, name="Physics XI", subject_id=subject.id, teacher_user_id=teacher.id
        )
        academics.add_schedule(
            s,
            actor=admin,
            batch_id=batch.id,
            weekday=0,
            start_time=time(10, 0),
            duration_minutes=60,
        )
        for n in range(2):
            st = academics.create_student(s, actor=admin, enrollment_no=f"P-{n}", name=f"Pupil {n}")
            academics.join_batch(s, actor=admin, batch_id=batch.id, student_id=st.id)
        attendance.generate_sessions_internal(s, institute_id=inst.id, start=MONDAY, end=MONDAY)
    return admin_user, teacher


def _status(db) -> list[tuple]:
    with db.scope(system=True) as s:
        return list(
            s.exec(
                select(ClassSession.date, ClassSession.status).order_by(ClassSession.starts_at)
            ).all()
        )


def test_admin_adds_and_removes_a_holiday_on_batches(db, day):
    admin, _teacher = day
    with clock.frozen(CLASS_START - timedelta(hours=20)):
        at = app_as(admin.email).run()
        open_page(at, "pages/admin/batches.py")
        assert not errors(at), errors(at)
        at.date_input(key="h_day").set_value(MONDAY)
        at.text_input(key="h_name").input("Diwali <b>")
        at.button(key="FormSubmitter:holiday_add-Add holiday").click().run()
        assert not errors(at), errors(at)
        assert "Diwali <b> added" in texts(at)
        assert list(frame(at, "Holiday")["Holiday"]) == ["Diwali <b>"]
        assert _status(db) == [(MONDAY, "cancelled")]
        at.button(key="h_remove_btn").click().run()
        assert not errors(at), errors(at)
    with db.scope(system=True) as s:
        assert s.exec(select(Holiday)).all() == []


def test_teacher_cancels_a_class_from_today_and_no_sheet_is_offered(db, day):
    _admin, teacher = day
    with clock.frozen(CLASS_START - timedelta(hours=2)):
        at = app_as(teacher.email).run().run()
        sid = _status_id(db)
        at.button(key=f"cancel_{sid}").click().run()
        assert errors(at) == ["Give a reason (students and guardians are told it)."]
        at.text_input(key=f"why_{sid}").input("Teacher ill")
        at.button(key=f"cancel_{sid}").click().run()
        assert not errors(at), errors(at)
        assert "Not held: Teacher ill." in texts(at)
        assert not [b for b in at.button if b.label in ("Take attendance", "View sheet")]
        assert _status(db) == [(MONDAY, "cancelled")]
        # The sheet, opened by its address, says so and takes no marks.
        at.session_state["sheet_session"] = sid
        open_page(at, "pages/teacher/attendance.py")
        assert any("This class was cancelled: Teacher ill" in w.value for w in at.warning)
        assert not [b for b in at.button if b.key == "submit_attendance"]


def test_teacher_moves_a_class_from_today(db, day):
    _admin, teacher = day
    with clock.frozen(CLASS_START - timedelta(hours=2)):
        at = app_as(teacher.email).run().run()
        sid = _status_id(db)
        at.text_input(key=f"why_{sid}").input("Lab booked")
        at.date_input(key=f"move_day_{sid}").set_value(MONDAY + timedelta(days=1))
        at.time_input(key=f"move_time_{sid}").set_value(time(15, 0))
        at.button(key=f"move_{sid}").click().run()
        assert not errors(at), errors(at)
        assert "Moved to Tue 03 Nov, 15:00." in texts(at)
    assert _status(db) == [(MONDAY, "rescheduled"), (MONDAY + timedelta(days=1), "scheduled")]


def _status_id(db) -> int:
    with db.scope(system=True) as s:
        return s.exec(select(ClassSession.id)).one()


def test_teacher_asks_for_an_extra_class_and_an_admin_approves_it_in_the_inbox(db, day):
    admin, teacher = day
    with clock.frozen(CLASS_START - timedelta(hours=2)):
        at = app_as(teacher.email).run().run()
        at.time_input(key="e_time").set_value(time(17, 0))
        at.text_input(key="e_reason").input("Exam revision")
        at.button(key="FormSubmitter:extra_request-Ask an admin").click().run()
        assert not errors(at), errors(at)
        assert "Asked: an admin decides in the action inbox." in texts(at)
        assert list(frame(at, "Status")["Status"]) == ["pending"]

        at = app_as(admin.email).run()
        open_page(at, "pages/teacher/inbox.py")
        assert "asks for an extra class of Physics XI" in texts(at)
        next(b for b in at.button if b.label == "Approve").click().run()
        assert not errors(at), errors(at)
    assert _status(db) == [(MONDAY, "scheduled"), (MONDAY, "scheduled")]


def test_the_student_reads_cancelled_and_moved_classes_in_words(db, day):
    """My schedule and My dashboard say "Cancelled — reason" and "Moved to … — reason", and the
    dashboard's next class is not one that is off."""
    from app.academics.models import Student
    from app.identity.models import Institute

    admin, teacher = day
    with db.scope(system=True) as s:
        inst = s.get(Institute, admin.institute_id)
    pupil = f.user(db, inst, Role.STUDENT, email="pupil@x.example")
    next_monday = MONDAY + timedelta(days=7)
    with clock.frozen(CLASS_START - timedelta(days=1)), db.scope(system=True) as s:
        s.exec(select(Student).where(Student.enrollment_no == "P-0")).one().user_id = pupil.id
        attendance.generate_sessions_internal(
            s, institute_id=inst.id, start=next_monday, end=next_monday
        )
    with db.scope(system=True) as s:
        first, second = s.exec(select(ClassSession.id).order_by(ClassSession.starts_at)).all()
    tara = f.actor_for(teacher)
    with clock.frozen(CLASS_START - timedelta(days=1)), db.scope(tara) as s:
        attendance.cancel_session(s, actor=tara, session_id=first, reason="Teacher ill *now*")
        attendance.reschedule_session(
            s,
            actor=tara,
            session_id=second,
            day=next_monday + timedelta(days=1),
            start_time=time(15, 0),
            reason="Lab booked",
        )
    with clock.frozen(CLASS_START - timedelta(days=1)):
        at = app_as(pupil.email).run()
        open_page(at, "pages/student/schedule.py")
        assert not errors(at), errors(at)
        shown = texts(at)
        assert ":red[Cancelled — Teacher ill *now*]" in shown
        assert ":orange[Moved to Tue 10 Nov, 15:00 — Lab booked]" in shown
        open_page(at, "pages/student/dashboard.py")
        assert not errors(at), errors(at)
        assert ":red[Cancelled — Teacher ill *now*]" in texts(at)
        next_class = next(m for m in at.metric if m.label == "Next class")
        assert next_class.value == "–"  # Monday's class is off; the moved one is next week
