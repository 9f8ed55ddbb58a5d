"""A teacher's day: sessions from schedules, the lifecycle, quick attendance and its pipeline."""

import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlmodel import col, select

from app.academics import service as academics
from app.attendance import service as attendance
from app.attendance.models import AttendanceRecord, ClassSession, TopicProgress
from app.core import clock
from app.core.errors import Conflict, PermissionDenied, ValidationError
from app.core.roles import Role
from app.inbox import service as inbox
from app.inbox.models import PendingAction
from app.notify.models import Notification
from tests import factories as f
from tests.factories import count

MONDAY = date(2026, 11, 2)
# 10:00 in Asia/Kolkata is 04:30 UTC.
CLASS_START = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)


@pytest.fixture
def world(db):
    inst = f.institute(db, timezone="Asia/Kolkata")
    admin = f.actor_for(f.user(db, inst, Role.ADMIN))
    teacher_user = f.user(db, inst, Role.TEACHER, name="Tara Teacher")
    teacher = f.actor_for(teacher_user)
    other_teacher = f.actor_for(f.user(db, inst, Role.TEACHER))
    with clock.frozen(CLASS_START - timedelta(days=7)), db.scope(admin) as s:
        subject = academics.create_subject(s, actor=admin, name="Mathematics")
        topics = [
            academics.add_topic(s, actor=admin, subject_id=subject.id, name=n).id
            for n in ("Fractions", "Decimals", "Percentages")
        ]
        batch = academics.create_batch(
            s,
            actor=admin,
            name="Math X",
            subject_id=subject.id,
            teacher_user_id=teacher_user.id,
            capacity=45,
        )
        academics.add_schedule(
            s,
            actor=admin,
            batch_id=batch.id,
            weekday=0,
            start_time=time(10, 0),
            duration_minutes=60,
        )
        students = []
        for n in range(40):
            st = academics.create_student(
                s, actor=admin, enrollment_no=f"ADM-{n:03d}", name=f"Student {n:02d}"
            )
            academics.join_batch(s, actor=admin, batch_id=batch.id, student_id=st.id)
            academics.add_guardian(
                s, actor=admin, student_id=st.id, name=f"Parent {n}", telegram_chat_id=str(9000 + n)
            )
            students.append(st.id)
    return {
        "inst": inst,
        "admin": admin,
        "teacher": teacher,
        "other": other_teacher,
        "batch": batch.id,
        "topics": topics,
        "students": students,
    }


def generate(db, w, start=MONDAY, end=MONDAY + timedelta(days=13)):
    with db.scope(w["admin"]) as s:
        return attendance.generate_for(s, actor=w["admin"], start=start, end=end)


def monday_session(db, w) -> int:
    with db.scope(w["admin"]) as s:
        return s.exec(select(ClassSession.id).where(ClassSession.date == MONDAY)).one()


def submit(db, w, session_id, actor=None, absent=(), version=0, topics=None, **kw):
    actor = actor or w["teacher"]
    marks = {w["students"][i]: "absent" for i in absent}
    with db.scope(actor, immediate=True) as s:
        return attendance.submit_attendance(
            s,
            actor=actor,
            session_id=session_id,
            marks=marks,
            expected_version=version,
            topics=topics,
            **kw,
        )


def test_generation_is_idempotent_and_in_the_institutes_time(db, world):
    assert generate(db, world) == 2  # two Mondays
    assert generate(db, world) == 0
    with db.scope(world["admin"]) as s:
        row = s.get(ClassSession, monday_session(db, world))
    assert row.starts_at.replace(tzinfo=UTC) == CLASS_START and row.status == "scheduled"


def test_lifecycle_open_submit_close_and_missed(db, world):
    generate(db, world)
    sid = monday_session(db, world)
    with clock.frozen(CLASS_START - timedelta(minutes=30)), db.scope(world["teacher"]) as s:
        assert (
            attendance.attendance_sheet(s, actor=world["teacher"], session_id=sid).status
            == "scheduled"
        )
    with clock.frozen(CLASS_START - timedelta(minutes=10)):
        with db.scope(system=True) as s:
            assert attendance.auto_close(s)["opened"] == 1
        submit(db, world, sid)
    with clock.frozen(CLASS_START + timedelta(minutes=71)), db.scope(system=True) as s:
        assert attendance.auto_close(s) == {"opened": 0, "closed": 1, "missed": 0, "links_sent": 0}
    # The next Monday nobody takes attendance: missed, one action, and the window is closed.
    next_start = CLASS_START + timedelta(days=7)
    with db.scope(world["admin"]) as s:
        next_id = s.exec(
            select(ClassSession.id).where(ClassSession.date == MONDAY + timedelta(days=7))
        ).one()
    with clock.frozen(next_start + timedelta(minutes=71)):
        for _ in range(2):
            with db.scope(system=True) as s:
                attendance.auto_close(s)
        with pytest.raises(ValidationError, match="^Attendance window closed for this class.$"):
            submit(db, world, next_id)
    assert count(db, PendingAction, PendingAction.type == "missed_session") == 1


def test_forty_students_three_absent_one_topic(db, world):
    generate(db, world)
    sid = monday_session(db, world)
    with clock.frozen(CLASS_START):
        with db.scope(world["teacher"]) as s:
            sheet = attendance.attendance_sheet(s, actor=world["teacher"], session_id=sid)
        assert len(sheet.students) == 40 and not sheet.taken  # not taken is not "absent"
        assert sheet.suggested == world["topics"][:2]
        submit(
            db,
            world,
            sid,
            absent=(1, 2, 3),
            topics=[world["topics"][0]],
            understanding={world["students"][0]: 5},
        )
    assert count(db, AttendanceRecord) == 40
    assert count(db, AttendanceRecord, AttendanceRecord.status == "absent") == 3
    assert count(db, TopicProgress) == 37
    messages = [m.recipient for m in _notifications(db)]
    assert sorted(messages) == ["9001", "9002", "9003"]
    with db.scope(world["teacher"]) as s:
        sheet = attendance.attendance_sheet(s, actor=world["teacher"], session_id=sid)
        top = s.exec(
            select(TopicProgress).where(TopicProgress.student_id == world["students"][0])
        ).one()
    assert sheet.status == "submitted" and sheet.submitted_by == "Tara Teacher"
    assert (top.competency, top.sessions_count, top.minutes_spent) == (5.0, 1, 60)


def _notifications(db):
    with db.scope(system=True) as s:
        return list(s.exec(select(Notification)))


def test_teacher_cannot_resubmit_admin_reopens_and_keeps_marks(db, world):
    generate(db, world)
    sid = monday_session(db, world)
    with clock.frozen(CLASS_START):
        submit(db, world, sid, absent=(5,))
        with pytest.raises(Conflict, match="already submitted by Tara Teacher at 10:00"):
            submit(db, world, sid, version=1)
    with clock.frozen(CLASS_START + timedelta(hours=3)):
        with db.scope(system=True) as s:
            attendance.auto_close(s)
        with pytest.raises(PermissionDenied), db.scope(world["teacher"]) as s:
            attendance.reopen_session(s, actor=world["teacher"], session_id=sid)
        with db.scope(world["admin"]) as s:
            attendance.reopen_session(s, actor=world["admin"], session_id=sid)
            sheet = attendance.attendance_sheet(s, actor=world["admin"], session_id=sid)
        assert sheet.marks[world["students"][5]] == "absent" and sheet.version == 1
        submit(db, world, sid, actor=world["admin"], absent=(5, 6), version=1)
    assert count(db, AttendanceRecord, AttendanceRecord.status == "absent") == 2
    assert count(db, AttendanceRecord) == 40
    # The guardian of student 5 got one message, not two, although the pipeline ran twice.
    assert sorted(m.recipient for m in _notifications(db)) == ["9005", "9006"]


def test_two_submitters_at_once_exactly_one_wins(db, world):
    generate(db, world)
    sid = monday_session(db, world)
    results = []
    barrier = threading.Barrier(2)

    def go(actor, absent):
        barrier.wait()
        try:
            submit(db, world, sid, actor=actor, absent=absent)
            results.append("won")
        except Conflict as exc:
            results.append(str(exc))

    threads = [
        threading.Thread(target=go, args=(world["teacher"], (1,))),
        threading.Thread(target=go, args=(world["admin"], (2,))),
    ]
    with clock.frozen(
        CLASS_START
    ):  # the clock is process-wide: freeze it once, outside the threads
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert results.count("won") == 1, results
    assert any("submitted" in r for r in results if r != "won")
    assert count(db, AttendanceRecord) == 40


def test_other_teachers_and_other_institutes_cannot_touch_the_sheet(db, world):
    generate(db, world)
    sid = monday_session(db, world)
    with pytest.raises(PermissionDenied), db.scope(world["other"]) as s:
        attendance.attendance_sheet(s, actor=world["other"], session_id=sid)
    stranger = f.actor_for(f.user(db, f.institute(db), Role.ADMIN))
    from app.core.errors import NotFound

    with pytest.raises(NotFound), db.scope(stranger) as s:
        attendance.attendance_sheet(s, actor=stranger, session_id=sid)


def test_link_works_once_expires_and_fits_only_its_session(db, world):
    generate(db, world)
    with db.scope(world["admin"]) as s:
        first, second = s.exec(select(ClassSession.id).order_by(ClassSession.starts_at)).all()
    with clock.frozen(CLASS_START - timedelta(hours=1)), db.scope(world["teacher"]) as s:
        token = attendance.create_link(s, actor=world["teacher"], session_id=first)
        stale = attendance.create_link(s, actor=world["teacher"], session_id=first)
    with clock.frozen(CLASS_START):
        with db.scope(system=True) as s:
            actor, sheet, error = attendance.open_link(s, token=token)
        assert (
            error is None
            and sheet.session_id == first
            and actor.user_id == world["teacher"].user_id
        )
        with pytest.raises(PermissionDenied, match="not valid"):
            submit(db, world, second, actor=actor, link_token=token)
        submit(db, world, first, actor=actor, link_token=token)
        with db.scope(system=True) as s:
            assert attendance.open_link(s, token=token)[2] == attendance.LINK_USED
    with clock.frozen(CLASS_START + timedelta(hours=13)), db.scope(system=True) as s:
        assert attendance.open_link(s, token=stale)[2] == attendance.LINK_EXPIRED


def test_absence_streak_opens_one_action(db, world):
    generate(db, world, end=MONDAY + timedelta(days=20))
    with db.scope(world["admin"]) as s:
        ids = s.exec(select(ClassSession.id).order_by(ClassSession.starts_at)).all()
    for week, sid in enumerate(ids):
        with clock.frozen(CLASS_START + timedelta(days=7 * week)):
            submit(db, world, sid, absent=(7,))
    assert (
        count(db, PendingAction, PendingAction.type == "absence_streak") == 1
    )  # default threshold 3
    with db.scope(world["teacher"]) as s:
        [item] = inbox.list_actions(s, actor=world["teacher"], type="absence_streak")
        assert item.student == "Student 07" and "missed the last 3 classes" in item.reason
        with pytest.raises(ValidationError, match="note"):
            inbox.act(s, actor=world["teacher"], action_id=item.id, outcome="ignored")
    with db.scope(world["teacher"]) as s:
        inbox.act(
            s,
            actor=world["teacher"],
            action_id=item.id,
            outcome="notified_guardian",
            note="Please call us about the missed classes.",
        )
    assert any(m.text == "Please call us about the missed classes." for m in _notifications(db))
    with db.scope(world["admin"]) as s:
        assert inbox.usefulness(s, actor=world["admin"]) == {
            "absence_streak": {"notified_guardian": 1}
        }


def test_capacity_and_duplicate_membership(db, world):
    with db.scope(world["admin"]) as s:
        academics.update_batch(s, actor=world["admin"], batch_id=world["batch"], capacity=40)
        extra = academics.create_student(
            s, actor=world["admin"], enrollment_no="ADM-999", name="Late Comer"
        )
    with (
        pytest.raises(Conflict, match="Math X is full \\(40 students\\)"),
        db.scope(world["admin"]) as s,
    ):
        academics.join_batch(s, actor=world["admin"], batch_id=world["batch"], student_id=extra.id)
    with pytest.raises(Conflict, match="already in Math X"), db.scope(world["admin"]) as s:
        academics.join_batch(
            s, actor=world["admin"], batch_id=world["batch"], student_id=world["students"][0]
        )
    with db.scope(world["admin"]) as s:
        academics.leave_batch(
            s, actor=world["admin"], batch_id=world["batch"], student_id=world["students"][0]
        )
        academics.join_batch(s, actor=world["admin"], batch_id=world["batch"], student_id=extra.id)
    with (
        pytest.raises(Conflict, match="Enrollment number ADM-001 is already used"),
        db.scope(world["admin"]) as s,
    ):
        academics.create_student(s, actor=world["admin"], enrollment_no="ADM-001", name="Dup")


def test_opening_a_session_sends_the_teacher_a_one_time_link(db, world):
    """The outbox keeps only a reference to the link: the working URL exists in the message
    Telegram receives (its "Take attendance" button), never in the stored row (kept after
    delivery and in backups)."""
    from app.identity.models import User
    from app.integrations import telegram
    from app.notify import delivery
    from tests.fakes.telegram import FakeTelegram

    generate(db, world)
    with db.scope(system=True) as s:
        s.get(User, world["teacher"].user_id).telegram_chat_id = "5150"
    transport = FakeTelegram()
    with clock.frozen(CLASS_START - timedelta(minutes=10)):
        for _ in range(2):  # the job runs every 5 minutes: one link per session
            with db.scope(system=True) as s:
                attendance.auto_close(s)
        [message] = [m for m in _notifications(db) if m.recipient == "5150"]
        assert "attendance=" not in message.text and "Math X starts soon" in message.text
        sender = telegram.TelegramSender("1:T", request=transport)
        assert delivery.deliver_due(engine=db.engine, sender=sender, sleep=lambda _: None).sent == 1
        [sent] = [m for m in transport.messages if m["chat_id"] == "5150"]
        url = transport.buttons(sent)["Take attendance"]
        token = url.rsplit("attendance=", 1)[1]
        [stored] = [m for m in _notifications(db) if m.recipient == "5150"]
        assert stored.status == "sent" and token not in stored.text
        assert "attendance=" not in stored.text and "attendance=" not in str(stored.buttons)
        with db.scope(system=True) as s:
            actor, sheet, error = attendance.open_link(s, token=token)
    assert (
        error is None
        and sheet.session_id == monday_session(db, world)
        and actor.user_id == world["teacher"].user_id
    )


def test_a_link_stops_working_when_the_subscription_has_ended(db, world):
    from app.identity.models import Institute

    generate(db, world)
    sid = monday_session(db, world)
    with clock.frozen(CLASS_START - timedelta(hours=1)), db.scope(world["teacher"]) as s:
        token = attendance.create_link(s, actor=world["teacher"], session_id=sid)
    with db.scope(system=True) as s:
        s.get(Institute, world["inst"].id).subscription_end = MONDAY - timedelta(days=1)
    with clock.frozen(CLASS_START):
        with db.scope(system=True) as s:
            actor, sheet, error = attendance.open_link(s, token=token)
        assert actor is None and sheet is None and "subscription" in error
        with pytest.raises(PermissionDenied, match="subscription"):
            submit(db, world, sid, actor=world["teacher"], link_token=token)


def test_enrolment_completion_follows_topic_progress(db, world):
    """Joining the batch enrolled every student; a class covering one of three topics makes
    their completion 33.3% (issue 22: the enrolment exists without a separate step)."""
    from app.academics.models import Enrollment

    generate(db, world)
    with clock.frozen(CLASS_START):
        submit(
            db,
            world,
            monday_session(db, world),
            topics=[world["topics"][0]],
            understanding={world["students"][0]: 5},
        )
    with db.scope(system=True) as s:
        enrolment = s.exec(
            select(Enrollment).where(Enrollment.student_id == world["students"][0])
        ).one()
    assert enrolment.completion_pct == 33.3  # one of three topics completed


def test_a_note_about_one_student_is_kept_with_their_mark_and_shown_on_the_sheet(db, world):
    generate(db, world)
    sid = monday_session(db, world)
    first, second = world["students"][0], world["students"][1]
    with clock.frozen(CLASS_START + timedelta(minutes=5)):
        with pytest.raises(ValidationError, match="at most 500 characters"):
            submit(db, world, sid, student_notes={first: "x" * 501})
        with pytest.raises(ValidationError, match="not in this batch"):
            submit(db, world, sid, student_notes={999_999: "Who?"})
        submit(
            db,
            world,
            sid,
            absent=(1,),
            student_notes={first: "  Left early for a doctor's appointment. ", second: " "},
        )
        with db.scope(world["teacher"]) as s:
            sheet = attendance.attendance_sheet(s, actor=world["teacher"], session_id=sid)
    assert sheet.student_notes == {first: "Left early for a doctor's appointment."}
    with db.scope(system=True) as s:
        notes = dict(
            s.exec(
                select(AttendanceRecord.student_id, AttendanceRecord.note).where(
                    AttendanceRecord.session_id == sid, col(AttendanceRecord.note).is_not(None)
                )
            ).all()
        )
    assert notes == {first: "Left early for a doctor's appointment."}
