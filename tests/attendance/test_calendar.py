"""Holidays, cancelled and rescheduled classes (issue 22): no class on a holiday, a class not
held never counts, students and guardians told once, only the right people may do it."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlmodel import func, select

from app.academics import service as academics
from app.academics.models import Student
from app.attendance import service as attendance
from app.attendance.models import AttendanceRecord, ClassSession, Holiday
from app.core import clock
from app.core.audit import AuditLog
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.core.roles import Role
from app.inbox.models import PendingAction
from app.notify.models import Notification
from app.risk import facts as risk_facts
from tests import factories as f

MONDAY = date(2026, 11, 2)
NEXT_MONDAY = MONDAY + timedelta(days=7)
CLASS_START = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)  # 10:00 Asia/Kolkata
BEFORE = CLASS_START - timedelta(days=3)


@pytest.fixture
def world(db):
    inst = f.institute(db, timezone="Asia/Kolkata")
    admin = f.actor_for(f.user(db, inst, Role.ADMIN))
    teacher_user = f.user(db, inst, Role.TEACHER, name="Tara Teacher")
    teacher = f.actor_for(teacher_user)
    other = f.actor_for(f.user(db, inst, Role.TEACHER))
    student_user = f.user(db, inst, Role.STUDENT)
    with clock.frozen(CLASS_START - timedelta(days=14)), db.scope(admin) as s:
        subject = academics.create_subject(s, actor=admin, name="Mathematics")
        batches = []
        for name in ("Math X", "Math Y"):
            batch = academics.create_batch(
                s, actor=admin, name=name, subject_id=subject.id, teacher_user_id=teacher_user.id
            )
            academics.add_schedule(
                s,
                actor=admin,
                batch_id=batch.id,
                weekday=0,
                start_time=time(10, 0),
                duration_minutes=60,
            )
            batches.append(batch.id)
        students = []
        for n in range(3):
            st = academics.create_student(
                s, actor=admin, enrollment_no=f"ADM-{n}", name=f"Student {n}"
            )
            academics.join_batch(s, actor=admin, batch_id=batches[0], student_id=st.id)
            academics.add_guardian(
                s, actor=admin, student_id=st.id, name=f"Parent {n}", telegram_chat_id=f"90{n}"
            )
            students.append(st.id)
        s.get(Student, students[0]).user_id = student_user.id
    # Another institute, for ids that are not ours.
    inst2 = f.institute(db)
    admin2 = f.actor_for(f.user(db, inst2, Role.ADMIN))
    return {
        "admin": admin,
        "teacher": teacher,
        "other": other,
        "admin2": admin2,
        "student": f.actor_for(student_user),
        "batches": batches,
        "students": students,
    }


def generate(db, w, start=MONDAY, end=NEXT_MONDAY):
    with clock.frozen(BEFORE), db.scope(w["admin"]) as s:
        return attendance.generate_for(s, actor=w["admin"], start=start, end=end)


def session_on(db, w, day=MONDAY, batch=0) -> ClassSession:
    with db.scope(system=True) as s:
        return s.exec(
            select(ClassSession).where(
                ClassSession.date == day, ClassSession.batch_id == w["batches"][batch]
            )
        ).one()


def count(db, model, *where) -> int:
    with db.scope(system=True) as s:
        return s.exec(select(func.count()).select_from(model).where(*where)).one()


def audits(db, action: str) -> int:
    return count(db, AuditLog, AuditLog.action == action)


def told(db, key_prefix: str) -> int:
    return count(db, Notification, Notification.dedupe_key.startswith(key_prefix))


def run(db, actor, fn, **kw):
    with clock.frozen(BEFORE), db.scope(actor) as s:
        return fn(s, actor=actor, **kw)


# ------------------------------------------------------------------ holidays


def test_no_sessions_are_generated_on_a_holiday(db, world):
    run(db, world["admin"], attendance.add_holiday, day=MONDAY, name="Diwali")
    # A holiday of one batch only leaves the other batch's class.
    run(
        db,
        world["admin"],
        attendance.add_holiday,
        day=NEXT_MONDAY,
        name="Exam day",
        batch_ids=[world["batches"][1]],
    )
    assert generate(db, world) == 1  # only Math X on the next Monday
    with db.scope(system=True) as s:
        rows = s.exec(select(ClassSession.date, ClassSession.batch_id)).all()
    assert rows == [(NEXT_MONDAY, world["batches"][0])]


def test_a_holiday_cancels_the_days_classes_and_tells_each_person_once(db, world):
    assert generate(db, world) == 4
    rows = run(db, world["admin"], attendance.add_holiday, day=MONDAY, name="Diwali")
    assert len(rows) == 1 and rows[0].batch_id is None
    for batch in (0, 1):
        row = session_on(db, world, batch=batch)
        assert row.status == "cancelled" and row.cancel_reason == "Holiday: Diwali"
    assert session_on(db, world, day=NEXT_MONDAY).status == "scheduled"
    sid = session_on(db, world).id
    # Math X: three guardians by Telegram, the one student with an account in the app.
    assert told(db, f"session_cancelled:{sid}:") == 4
    assert told(db, f"session_cancelled:{sid}:student:") == 1
    assert audits(db, "holiday.add") == 1
    with db.scope(system=True) as s:
        row = s.get(ClassSession, sid)
        from app.academics.models import Batch

        again = attendance.tell_class_internal(
            s,
            row=row,
            batch=s.get(Batch, row.batch_id),
            text="x",
            subject="x",
            key=f"session_cancelled:{sid}",
        )
    assert again == 0  # a retry queues nothing twice
    # The day is already a holiday.
    with pytest.raises(Conflict):
        run(db, world["admin"], attendance.add_holiday, day=MONDAY, name="Again")


def test_only_admins_manage_holidays_and_only_with_their_batches(db, world):
    with pytest.raises(PermissionDenied):
        run(db, world["teacher"], attendance.add_holiday, day=MONDAY, name="Mine")
    other_batch = None
    with db.scope(world["admin2"]) as s:
        subject = academics.create_subject(s, actor=world["admin2"], name="Art")
        other_batch = academics.create_batch(
            s, actor=world["admin2"], name="Art A", subject_id=subject.id
        ).id
    with pytest.raises(ValidationError):
        run(
            db,
            world["admin"],
            attendance.add_holiday,
            day=MONDAY,
            name="Theirs",
            batch_ids=[other_batch],
        )
    with pytest.raises(ValidationError):
        run(db, world["admin"], attendance.add_holiday, day=MONDAY, name="  ")
    holiday = run(db, world["admin"], attendance.add_holiday, day=NEXT_MONDAY, name="Diwali")[0]
    with pytest.raises(NotFound):
        run(db, world["admin2"], attendance.remove_holiday, holiday_id=holiday.id)
    with pytest.raises(PermissionDenied):
        run(db, world["teacher"], attendance.remove_holiday, holiday_id=holiday.id)
    run(db, world["admin"], attendance.remove_holiday, holiday_id=holiday.id)
    assert count(db, Holiday) == 0 and audits(db, "holiday.remove") == 1
    assert generate(db, world) == 4  # the day has classes again


def test_students_see_no_planned_class_on_a_holiday(db, world):
    run(db, world["admin"], attendance.add_holiday, day=NEXT_MONDAY, name="Diwali")
    with clock.frozen(BEFORE), db.scope(world["student"]) as s:
        mine = attendance.my_sessions(s, actor=world["student"], start=MONDAY, end=NEXT_MONDAY)
    assert [c.date for c in mine] == [MONDAY]


# ------------------------------------------------------------------ one class


def test_the_batch_teacher_cancels_a_class_once_with_a_reason(db, world):
    generate(db, world)
    sid = session_on(db, world).id
    with pytest.raises(ValidationError):
        run(db, world["teacher"], attendance.cancel_session, session_id=sid, reason=" ")
    with pytest.raises(PermissionDenied):
        run(db, world["other"], attendance.cancel_session, session_id=sid, reason="Ill")
    with pytest.raises(NotFound):
        run(db, world["admin2"], attendance.cancel_session, session_id=sid, reason="Ill")
    row = run(db, world["teacher"], attendance.cancel_session, session_id=sid, reason="I am ill")
    assert row.status == "cancelled" and row.cancel_reason == "I am ill"
    assert told(db, f"session_cancelled:{sid}:") == 4
    assert audits(db, "session.cancel") == 1
    with pytest.raises(ValidationError, match="already cancelled"):
        run(db, world["admin"], attendance.cancel_session, session_id=sid, reason="Again")
    assert told(db, f"session_cancelled:{sid}:") == 4
    # No sheet, no reopening, and the missed-class job leaves it alone.
    with (
        clock.frozen(CLASS_START),
        db.scope(world["teacher"], immediate=True) as s,
        pytest.raises(ValidationError, match="cancelled or moved"),
    ):
        attendance.submit_attendance(
            s, actor=world["teacher"], session_id=sid, marks={}, expected_version=1
        )
    with pytest.raises(ValidationError, match="cancelled or moved"):
        run(db, world["admin"], attendance.reopen_session, session_id=sid)
    with clock.frozen(CLASS_START + timedelta(hours=3)), db.scope(system=True) as s:
        attendance.auto_close(s)
    assert session_on(db, world).status == "cancelled"
    assert count(db, PendingAction, PendingAction.type == "missed_session") == 1  # Math Y only


def test_a_class_with_attendance_taken_cannot_be_cancelled(db, world):
    generate(db, world)
    sid = session_on(db, world).id
    with clock.frozen(CLASS_START), db.scope(world["teacher"], immediate=True) as s:
        attendance.submit_attendance(
            s, actor=world["teacher"], session_id=sid, marks={}, expected_version=0
        )
    with pytest.raises(ValidationError, match="was held"):
        run(db, world["admin"], attendance.cancel_session, session_id=sid, reason="Oops")
    with pytest.raises(ValidationError, match="was held"):
        run(
            db,
            world["admin"],
            attendance.reschedule_session,
            session_id=sid,
            day=MONDAY + timedelta(days=1),
            start_time=time(10, 0),
            reason="Oops",
        )
    assert told(db, "session_") == 0


def test_a_missed_class_can_be_cancelled_and_its_action_closes(db, world):
    generate(db, world)
    sid = session_on(db, world).id
    with clock.frozen(CLASS_START + timedelta(hours=3)), db.scope(system=True) as s:
        attendance.auto_close(s)
    assert session_on(db, world).status == "missed"
    with clock.frozen(CLASS_START + timedelta(hours=4)), db.scope(world["admin"]) as s:
        attendance.cancel_session(s, actor=world["admin"], session_id=sid, reason="Power cut")
    with db.scope(system=True) as s:
        action = s.exec(
            select(PendingAction).where(PendingAction.dedupe_key == f"missed_session:{sid}")
        ).one()
    assert action.status == "done"


def test_rescheduling_moves_the_class_and_tells_everyone(db, world):
    generate(db, world)
    old = session_on(db, world)
    tuesday = MONDAY + timedelta(days=1)
    with pytest.raises(PermissionDenied):
        run(
            db,
            world["other"],
            attendance.reschedule_session,
            session_id=old.id,
            day=tuesday,
            start_time=time(15, 0),
            reason="Trip",
        )
    # Onto another class of the batch, or onto a holiday: refused.
    with pytest.raises(Conflict):
        run(
            db,
            world["teacher"],
            attendance.reschedule_session,
            session_id=old.id,
            day=NEXT_MONDAY,
            start_time=time(10, 0),
            reason="Trip",
        )
    run(db, world["admin"], attendance.add_holiday, day=tuesday + timedelta(days=1), name="Fest")
    with pytest.raises(ValidationError, match="holiday"):
        run(
            db,
            world["teacher"],
            attendance.reschedule_session,
            session_id=old.id,
            day=tuesday + timedelta(days=1),
            start_time=time(15, 0),
            reason="Trip",
        )
    new = run(
        db,
        world["teacher"],
        attendance.reschedule_session,
        session_id=old.id,
        day=tuesday,
        start_time=time(15, 0),
        reason="School trip",
    )
    again = session_on(db, world)
    assert again.status == "rescheduled" and again.rescheduled_to_id == new.id
    assert again.cancel_reason == "School trip"
    assert new.date == tuesday and new.batch_id == old.batch_id and new.status == "scheduled"
    assert new.starts_at.replace(tzinfo=UTC) == datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
    assert (new.ends_at - new.starts_at) == timedelta(minutes=60)
    assert told(db, f"session_rescheduled:{old.id}:") == 4
    assert audits(db, "session.reschedule") == 1
    # The day's cards show the moved class as such, with no sheet.
    with clock.frozen(BEFORE), db.scope(world["teacher"]) as s:
        cards = attendance.sessions_for_day(s, actor=world["teacher"], day=MONDAY)
    moved = next(c for c in cards if c.id == old.id)
    assert moved.status == "rescheduled" and not moved.held
    assert moved.moved_to == new.starts_at.replace(tzinfo=UTC)


# ------------------------------------------------------------------ never counted


def _mark_then_cancel(db, w) -> int:
    """A class with an absence on record that was then cancelled (data from before the rule,
    or written around it): its marks must not count anywhere."""
    sid = session_on(db, w).id
    with db.scope(system=True) as s:
        row = s.get(ClassSession, sid)
        for student in w["students"]:
            s.add(
                AttendanceRecord(
                    institute_id=row.institute_id,
                    session_id=sid,
                    student_id=student,
                    status="absent",
                )
            )
        row.status = "cancelled"
    return sid


def test_risk_facts_do_not_count_a_cancelled_class(db, world):
    generate(db, world)
    _mark_then_cancel(db, world)
    with db.scope(world["admin"]) as s:
        inputs = risk_facts.gather_internal(
            s,
            institute_id=world["admin"].institute_id,
            today=MONDAY + timedelta(days=2),
            window_days=30,
        )
    assert inputs.facts[world["students"][0]][0] is None  # no attendance counted


def test_attendance_percent_does_not_count_a_cancelled_class(db, world):
    generate(db, world)
    _mark_then_cancel(db, world)
    with db.scope(world["student"]) as s:
        mine = attendance.my_attendance(s, actor=world["student"])
    assert mine.overall.sessions == 0 and mine.overall.percent is None


# ------------------------------------------------------------------ no-show


def test_a_no_show_is_for_one_to_one_sessions_and_counts_as_an_absence(db, world):
    admin = world["admin"]
    with clock.frozen(BEFORE), db.scope(admin) as s:
        subject = academics.create_subject(s, actor=admin, name="Piano")
        solo = academics.create_batch(
            s,
            actor=admin,
            name="Piano 1:1",
            subject_id=subject.id,
            teacher_user_id=world["teacher"].user_id,
            type="individual",
        )
        academics.join_batch(s, actor=admin, batch_id=solo.id, student_id=world["students"][0])
        one = attendance.create_adhoc_session(
            s,
            actor=admin,
            batch_id=solo.id,
            day=MONDAY,
            start_time=time(12, 0),
            duration_minutes=45,
        ).id
    generate(db, world)
    regular = session_on(db, world).id
    student = world["students"][0]
    with clock.frozen(CLASS_START), db.scope(world["teacher"]) as s:
        sheet = attendance.attendance_sheet(s, actor=world["teacher"], session_id=regular)
        assert "no_show" not in sheet.mark_choices
        assert (
            "no_show"
            in attendance.attendance_sheet(s, actor=world["teacher"], session_id=one).mark_choices
        )
    with (
        clock.frozen(CLASS_START),
        db.scope(world["teacher"], immediate=True) as s,
        pytest.raises(ValidationError, match="one-to-one"),
    ):
        attendance.submit_attendance(
            s,
            actor=world["teacher"],
            session_id=regular,
            marks={student: "no_show"},
            expected_version=0,
        )
    with clock.frozen(CLASS_START + timedelta(hours=2)), db.scope(world["teacher"]) as s:
        attendance.submit_attendance(
            s,
            actor=world["teacher"],
            session_id=one,
            marks={student: "no_show"},
            expected_version=0,
        )
    # The guardian is told as of an absence; attendance % and risk count it as one.
    assert told(db, f"absence:{one}:{student}:") == 1
    with db.scope(world["student"]) as s:
        mine = attendance.my_attendance(s, actor=world["student"])
    assert (mine.overall.sessions, mine.overall.absent, mine.overall.percent) == (1, 1, 0.0)
    with db.scope(admin) as s:
        inputs = risk_facts.gather_internal(
            s, institute_id=admin.institute_id, today=MONDAY + timedelta(days=1), window_days=30
        )
    assert inputs.facts[student][0] == (0, 1)


# ------------------------------------------------------------------ extra classes


def test_a_teachers_extra_class_waits_for_an_admin_unless_the_rule_allows_it(db, world):
    teacher, admin = world["teacher"], world["admin"]
    ask = {"day": MONDAY, "start_time": time(16, 0), "duration_minutes": 60, "reason": "Revision"}
    with pytest.raises(PermissionDenied):
        run(db, world["other"], attendance.request_extra_class, batch_id=world["batches"][0], **ask)
    with pytest.raises(NotFound):
        run(
            db, world["admin2"], attendance.request_extra_class, batch_id=world["batches"][0], **ask
        )
    req = run(db, teacher, attendance.request_extra_class, batch_id=world["batches"][0], **ask)
    assert req.status == "pending" and req.session_id is None
    assert count(db, ClassSession) == 0 and audits(db, "extra_class.request") == 1
    with db.scope(system=True) as s:
        action = s.exec(
            select(PendingAction).where(PendingAction.type == "extra_class_request")
        ).one()
    # Not in the teacher's own inbox; an admin decides it there.
    with db.scope(teacher) as s:
        from app.inbox import service as inbox

        assert inbox.list_actions(s, actor=teacher) == []
    with pytest.raises(PermissionDenied):
        run(db, teacher, attendance.decide_extra_class, request_id=req.id, approve=True)
    with pytest.raises(NotFound):
        run(db, world["admin2"], attendance.decide_extra_class, request_id=req.id, approve=True)
    with pytest.raises(ValidationError):
        run(db, admin, attendance.decide_extra_class_for_action, action_id=action.id, approve=False)
    done = run(
        db, admin, attendance.decide_extra_class_for_action, action_id=action.id, approve=True
    )
    assert done.status == "approved" and done.session_id is not None
    assert count(db, ClassSession) == 1 and audits(db, "extra_class.approved") == 1
    assert told(db, f"extra_class:{req.id}:decided") == 1
    with db.scope(system=True) as s:
        assert s.get(PendingAction, action.id).status == "done"
    with pytest.raises(Conflict):
        run(db, admin, attendance.decide_extra_class, request_id=req.id, approve=True)
    # The institute's rule lets teachers add one directly.
    with pytest.raises(PermissionDenied):
        run(db, teacher, attendance.set_teachers_add_classes, allowed=True)
    run(db, admin, attendance.set_teachers_add_classes, allowed=True)
    direct = run(
        db,
        teacher,
        attendance.request_extra_class,
        batch_id=world["batches"][0],
        **(ask | {"start_time": time(18, 0)}),
    )
    assert direct.status == "approved" and direct.session_id is not None
    assert count(db, ClassSession) == 2
    assert count(db, PendingAction, PendingAction.type == "extra_class_request") == 1


# ------------------------------------------------------------------ the rest of a term


def test_removing_a_holiday_puts_its_future_classes_back_on(db, world):
    generate(db, world)
    [monday] = run(db, world["admin"], attendance.add_holiday, day=MONDAY, name="Diwali")
    [next_week] = run(db, world["admin"], attendance.add_holiday, day=NEXT_MONDAY, name="Rest day")
    # A class already in the past stays cancelled when its holiday goes: it was not held.
    with clock.frozen(CLASS_START + timedelta(days=2)), db.scope(world["admin"]) as s:
        attendance.remove_holiday(s, actor=world["admin"], holiday_id=monday.id)
    assert session_on(db, world).status == "cancelled"
    # Next Monday's classes are back on, and each student's guardian is told once.
    run(db, world["admin"], attendance.remove_holiday, holiday_id=next_week.id)
    for batch in (0, 1):
        row = session_on(db, world, NEXT_MONDAY, batch)
        assert (row.status, row.cancel_reason) == ("scheduled", None)
    # Three guardians on Telegram, and the one student who signs in, in the app.
    assert told(db, f"session_restored:{session_on(db, world, NEXT_MONDAY).id}:") == 4
    with db.scope(system=True) as s:
        text = s.exec(
            select(Notification.text).where(Notification.dedupe_key.startswith("session_restored"))
        ).first()
    assert "is back on: Rest day is no longer a holiday" in text
    # A class another holiday still covers stays cancelled.
    [whole] = run(db, world["admin"], attendance.add_holiday, day=NEXT_MONDAY, name="Strike")
    with db.scope(system=True) as s:  # a batch holiday the same day, entered before
        s.add(
            Holiday(
                institute_id=whole.institute_id,
                date=NEXT_MONDAY,
                name="Trip",
                batch_id=world["batches"][0],
            )
        )
    run(db, world["admin"], attendance.remove_holiday, holiday_id=whole.id)
    assert session_on(db, world, NEXT_MONDAY, 0).status == "cancelled"
    assert session_on(db, world, NEXT_MONDAY, 1).status == "scheduled"


def test_a_class_off_for_two_holidays_comes_back_when_both_are_gone(db, world):
    """A batch's own holiday, then the whole institute's the same day: removing the first hands
    its class to the second (still cancelled), and removing that one puts it back on."""
    generate(db, world)
    x = world["batches"][0]
    [trip] = run(
        db, world["admin"], attendance.add_holiday, day=NEXT_MONDAY, name="Trip", batch_ids=[x]
    )
    [strike] = run(db, world["admin"], attendance.add_holiday, day=NEXT_MONDAY, name="Strike")
    run(db, world["admin"], attendance.remove_holiday, holiday_id=trip.id)
    kept = session_on(db, world, NEXT_MONDAY, 0)
    assert (kept.status, kept.cancel_reason) == ("cancelled", "Holiday: Strike")
    run(db, world["admin"], attendance.remove_holiday, holiday_id=strike.id)
    for batch in (0, 1):
        assert session_on(db, world, NEXT_MONDAY, batch).status == "scheduled"


def test_the_database_refuses_the_same_holiday_twice(db, world):
    from sqlalchemy.exc import IntegrityError

    [holiday] = run(db, world["admin"], attendance.add_holiday, day=MONDAY, name="Diwali")
    for batch_id in (None, world["batches"][0]):
        if batch_id is not None:
            run(
                db,
                world["admin"],
                attendance.add_holiday,
                day=NEXT_MONDAY,
                name="Trip",
                batch_ids=[batch_id],
            )
        day = MONDAY if batch_id is None else NEXT_MONDAY
        with pytest.raises(IntegrityError), db.scope(system=True) as s:
            s.add(
                Holiday(
                    institute_id=holiday.institute_id, date=day, name="Again", batch_id=batch_id
                )
            )
            s.flush()


def test_a_student_sees_a_cancelled_class_in_words_and_the_calendar_strikes_it(db, world):
    from tests.pages.apptest import app_as, errors, open_page, texts

    generate(db, world)
    run(
        db,
        world["teacher"],
        attendance.cancel_session,
        session_id=session_on(db, world).id,
        reason="Teacher unwell",
    )
    with clock.frozen(BEFORE), db.scope(world["student"]) as s:
        [c, *_] = attendance.my_sessions(s, actor=world["student"], start=MONDAY, end=MONDAY)
        ics = attendance.my_calendar_ics(s, actor=world["student"], start=MONDAY, end=MONDAY)
    assert not c.held and c.cancel_reason == "Teacher unwell"
    assert b"STATUS:CANCELLED" in ics
    with db.scope(system=True) as s:
        from app.identity.models import User

        email = s.get(User, world["student"].user_id).email
    with clock.frozen(BEFORE):
        at = app_as(email).run()
        open_page(at, "pages/student/schedule.py")
        at.date_input(key="sch_from").set_value(MONDAY)
        at.date_input(key="sch_to").set_value(MONDAY).run()
    assert not errors(at), errors(at)
    assert ":red[Cancelled — Teacher unwell]" in texts(at)


def test_the_dashboard_never_counts_a_cancelled_class_as_the_next_one(db, world):
    from app.identity.models import User
    from tests.pages.apptest import app_as, errors, open_page, texts

    generate(db, world)
    run(
        db,
        world["teacher"],
        attendance.cancel_session,
        session_id=session_on(db, world).id,
        reason="Teacher unwell",
    )
    with db.scope(system=True) as s:
        email = s.get(User, world["student"].user_id).email
    with clock.frozen(BEFORE):
        at = app_as(email).run()
        open_page(at, "pages/student/dashboard.py")
    assert not errors(at), errors(at)
    [nxt] = [m for m in at.metric if m.label == "Next class"]
    assert nxt.value == "–"  # Monday's only class is cancelled
    assert ":red[Cancelled — Teacher unwell]" in texts(at)
