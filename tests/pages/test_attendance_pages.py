"""Today and the quick attendance sheet, as a teacher uses them."""

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlmodel import func, select

from app.academics import service as academics
from app.attendance import service as attendance
from app.attendance.models import AttendanceRecord
from app.core import clock
from app.core.roles import Role
from tests import factories as f
from tests.pages.apptest import app_as, errors, shown

CLASS_START = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)  # Monday 10:00 in Asia/Kolkata


@pytest.fixture
def day(db):
    inst = f.institute(db, timezone="Asia/Kolkata")
    admin = f.actor_for(f.user(db, inst, Role.ADMIN))
    teacher = f.user(db, inst, Role.TEACHER, email="tara@x.example", name="Tara Teacher")
    with clock.frozen(CLASS_START - timedelta(days=1)), db.scope(admin) as s:
        subject = academics.create_subject(s, actor=admin, name="Physics")
        academics.add_topic(s, actor=admin, subject_id=subject.id, name="Motion")
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
        ids = []
        for n in range(6):
            st = academics.create_student(s, actor=admin, enrollment_no=f"P-{n}", name=f"Pupil {n}")
            academics.join_batch(s, actor=admin, batch_id=batch.id, student_id=st.id)
            ids.append(st.id)
        attendance.generate_sessions_internal(
            s, institute_id=inst.id, start=CLASS_START.date(), end=CLASS_START.date()
        )
    return teacher, ids


def test_teacher_takes_attendance_from_today(db, day):
    teacher, ids = day
    with clock.frozen(CLASS_START + timedelta(minutes=5)):
        at = app_as(teacher.email).run().run()
        assert at.title[0].value == "Today"
        assert "Physics XI" in " ".join(m.value for m in at.markdown) and "not taken" in " ".join(
            m.value for m in at.markdown
        )
        next(b for b in at.button if b.label == "Take attendance").click().run()
        assert at.title[0].value == "Physics XI"
        sid = _session_id(db)
        controls = {g.key: g for g in at.get("button_group")}
        assert {f"mark_{sid}_{i}" for i in ids} <= set(
            controls
        )  # one control per student, preset present
        controls[f"mark_{sid}_{ids[1]}"].set_value("Absent")
        controls[f"mark_{sid}_{ids[2]}"].set_value("Late")
        at.run()
        at.button(key="submit_attendance").click().run()
        assert not errors(at), errors(at)
        assert "Attendance saved: 5 present, 1 absent." in [shown(s.value) for s in at.success]
        assert "Submitted by Tara Teacher at 10:05." in [shown(i.value) for i in at.info]
    with db.scope(system=True) as s:
        marks = dict(s.exec(select(AttendanceRecord.student_id, AttendanceRecord.status)).all())
        assert s.exec(select(func.count()).select_from(AttendanceRecord)).one() == 6
    assert (marks[ids[1]], marks[ids[2]], marks[ids[0]]) == ("absent", "late", "present")


def _session_id(db) -> int:
    from app.attendance.models import ClassSession

    with db.scope(system=True) as s:
        return s.exec(select(ClassSession.id)).one()


def test_one_time_link_opens_the_sheet_without_signing_in(db, day):
    teacher, ids = day
    sid = _session_id(db)
    actor = f.actor_for(teacher)
    with clock.frozen(CLASS_START + timedelta(minutes=5)):
        with db.scope(actor) as s:
            token = attendance.create_link(s, actor=actor, session_id=sid)
        at = app_as(None)
        at.query_params["attendance"] = token
        at.run()
        assert at.title[0].value == "Physics XI"
        {g.key: g for g in at.get("button_group")}[f"mark_{sid}_{ids[0]}"].set_value("Absent")
        at.run()
        at.button(key="submit_attendance").click().run()
        assert "Attendance saved: 5 present, 1 absent." in [shown(s.value) for s in at.success]
        again = app_as(None)
        again.query_params["attendance"] = token
        again.run()
        assert errors(again) == [attendance.LINK_USED]
        forged = app_as(None)
        forged.query_params["attendance"] = "not-a-token"
        forged.run()
        assert errors(forged) == [attendance.LINK_INVALID]


def test_the_attendance_page_opened_from_the_sidebar_has_a_heading_and_a_way_on(db, day):
    teacher, _ = day
    at = app_as(teacher.email).run()
    at.switch_page("pages/teacher/attendance.py")
    at.run()
    assert not at.exception
    assert at.title[0].value == "Attendance"
    assert "Open a class from Today" in at.info[0].value


def test_the_teacher_notes_one_student_on_the_sheet_and_sees_it_after_saving(db, day):
    teacher, ids = day
    hostile = "Left early <img src=x onerror=alert(1)> **bold**"
    with clock.frozen(CLASS_START + timedelta(minutes=5)):
        at = app_as(teacher.email).run().run()
        next(b for b in at.button if b.label == "Take attendance").click().run()
        sid = _session_id(db)
        at.text_input(key=f"snote_{sid}_{ids[3]}").input(hostile).run()
        at.button(key="submit_attendance").click().run()
        assert not errors(at), errors(at)
        # Submitted: the sheet is read-only for the teacher and lists the note beside the mark.
        listed = at.dataframe[0].value.set_index("Student")
        assert listed.loc["Pupil 3", "Note"] == hostile and listed.loc["Pupil 0", "Note"] == ""
    with db.scope(system=True) as s:
        noted = s.exec(
            select(AttendanceRecord.student_id, AttendanceRecord.note).where(
                AttendanceRecord.note.is_not(None)
            )
        ).all()
    assert noted == [(ids[3], hostile)]


def test_today_shows_what_the_teacher_noted_at_the_batchs_last_class(db, day):
    """Next-session preparation: the notes written when the last class was submitted are on
    the card of the next one until it is taken."""
    from app.attendance.models import ClassSession

    teacher, _ = day
    with db.scope(system=True) as s:
        monday = s.exec(select(ClassSession)).one()
        for weeks, notes in ((2, "Old note."), (1, "Bring compasses: *circles* next <b>time</b>.")):
            earlier = CLASS_START - timedelta(weeks=weeks)
            s.add(
                ClassSession(
                    institute_id=monday.institute_id,
                    batch_id=monday.batch_id,
                    date=earlier.date(),
                    starts_at=earlier,
                    ends_at=earlier + timedelta(hours=1),
                    status="closed",
                    notes=notes,
                )
            )
    with clock.frozen(CLASS_START - timedelta(minutes=30)):
        at = app_as(teacher.email).run().run()
    assert not errors(at), errors(at)
    captions = [shown(c.value) for c in at.caption]
    assert "From the last class (Mon 26 Oct): Bring compasses: *circles* next <b>time</b>." in (
        captions
    ), captions
    assert not any("Old note." in c for c in captions)
