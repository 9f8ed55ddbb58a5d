"""Reports home: the monthly progress summary to guardians (issue 22)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from app.academics import service as academics
from app.academics.models import Guardian
from app.attendance.models import AttendanceRecord, ClassSession, TopicProgress
from app.core import clock
from app.core.audit import AuditLog
from app.core.errors import NotFound, PermissionDenied
from app.core.roles import Role
from app.coursework.models import Assessment, AssessmentResult
from app.notify.models import Notification
from app.reports import jobs, service
from tests import factories as f
from tests.pages.apptest import app_as, errors, shown

NOVEMBER = date(2026, 11, 1)


@pytest.fixture
def family(db):
    inst = f.institute(db, name="Sunrise Academy")
    admin = f.actor_for(f.user(db, inst, Role.ADMIN))
    teacher_user = f.user(db, inst, Role.TEACHER, email="tara@sunrise.example")
    stranger = f.actor_for(f.user(db, inst, Role.TEACHER))
    batch = f.batch(db, inst, teacher=teacher_user, name="Class 10 Maths")
    asha = f.student(db, inst, name="Asha Rao")
    ben = f.student(db, inst, name="Ben Das")
    for kid in (asha, ben):
        f.member(db, inst, batch.id, kid.id, joined_on=date(2026, 10, 1))
    (topic_a, topic_b) = f.topics(db, inst, batch.subject_id, 2)
    with db.scope(system=True) as s:
        guardians = [
            Guardian(
                institute_id=inst.id, student_id=asha.id, name="Meera Rao", telegram_chat_id="501"
            ),
            Guardian(
                institute_id=inst.id,
                student_id=asha.id,
                name="Ravi Rao",
                telegram_chat_id="502",
                progress_reports=False,
            ),
            Guardian(institute_id=inst.id, student_id=ben.id, name="No Chat"),
        ]
        s.add_all(guardians)
        for n, mark in enumerate(["present", "late", "absent", "excused", "present"]):
            start = datetime(2026, 11, 2 + 7 * n // 2, 4, 30, tzinfo=UTC)
            held = ClassSession(
                institute_id=inst.id,
                batch_id=batch.id,
                date=start.date(),
                starts_at=start,
                ends_at=start + timedelta(hours=1),
                status="closed",
            )
            s.add(held)
            s.flush()
            s.add(
                AttendanceRecord(
                    institute_id=inst.id, session_id=held.id, student_id=asha.id, status=mark
                )
            )
        # October's class does not count in November.
        october = datetime(2026, 10, 26, 4, 30, tzinfo=UTC)
        old = ClassSession(
            institute_id=inst.id,
            batch_id=batch.id,
            date=october.date(),
            starts_at=october,
            ends_at=october + timedelta(hours=1),
            status="closed",
        )
        s.add(old)
        s.flush()
        s.add(
            AttendanceRecord(
                institute_id=inst.id, session_id=old.id, student_id=asha.id, status="absent"
            )
        )
        s.add_all(
            [
                TopicProgress(
                    institute_id=inst.id,
                    student_id=asha.id,
                    topic_id=t.id,
                    status="completed",
                    completed_at=when,
                )
                for t, when in (
                    (topic_a, datetime(2026, 11, 10, 6, tzinfo=UTC)),
                    (topic_b, datetime(2026, 10, 10, 6, tzinfo=UTC)),
                )
            ]
        )
        for title, held_on, pct in (
            ("Unit test 1", date(2026, 11, 3), 55.0),
            ("Unit test 2", date(2026, 11, 24), 78.0),
        ):
            test = Assessment(
                institute_id=inst.id,
                batch_id=batch.id,
                kind="quiz",
                title=title,
                max_marks=100,
                held_on=held_on,
            )
            s.add(test)
            s.flush()
            s.add(
                AssessmentResult(
                    institute_id=inst.id,
                    assessment_id=test.id,
                    student_id=asha.id,
                    marks=pct,
                    percentage=pct,
                )
            )
    # Another institute's family, with a linked chat.
    other = f.institute(db)
    outsider = f.student(db, other, name="Omar Out")
    with db.scope(system=True) as s:
        s.add(
            Guardian(
                institute_id=other.id, student_id=outsider.id, name="Out", telegram_chat_id="999"
            )
        )
    return {
        "inst": inst,
        "admin": admin,
        "teacher": f.actor_for(teacher_user),
        "teacher_email": teacher_user.email,
        "stranger": stranger,
        "asha": asha.id,
        "ben": ben.id,
        "outsider": outsider.id,
        "guardian": guardians[0].id,
    }


def sent(db) -> list[tuple[str, str]]:
    with db.scope(system=True) as s:
        return sorted(
            s.exec(
                select(Notification.recipient, Notification.text).where(
                    Notification.dedupe_key.startswith("progress_report:")
                )
            ).all()
        )


EXPECTED = (
    "Asha Rao: progress in November 2026\n"
    "Attendance: present at 3 of 4 classes (75%).\n"
    "Topics completed: 1.\n"
    "Latest test: Unit test 2, 78%.\n"
    "Fees: nothing to pay.\n"
    "— Sunrise Academy"
)


def test_the_monthly_job_tells_each_opted_in_guardian_once(db, family):
    with clock.frozen(datetime(2026, 12, 1, 3, 30, tzinfo=UTC)):
        out = jobs.monthly_progress_reports(engine=db.engine)
        again = jobs.monthly_progress_reports(engine=db.engine)
    assert out["queued"] == 2 and again["queued"] == 0
    by_chat = dict(sent(db))
    # Not the opted-out parent (502), nobody without a chat; the other institute's family gets
    # their own child's report, from their own institute.
    assert sorted(by_chat) == ["501", "999"]
    assert by_chat["501"] == EXPECTED
    assert by_chat["999"].startswith("Omar Out: progress in November 2026\n")
    assert "Asha" not in by_chat["999"]


def test_a_guardian_opts_out_and_the_office_can_turn_it_back_on(db, family):
    admin = family["admin"]
    with db.scope(admin) as s:
        academics.set_progress_reports(
            s, actor=admin, guardian_id=family["guardian"], receive=False
        )
    with db.scope(system=True) as s:
        assert service.send_month_internal(s, institute_id=family["inst"].id, month=NOVEMBER) == 0
        logged = s.exec(
            select(AuditLog.action).where(AuditLog.action == "guardian.progress_reports")
        ).all()
    assert logged == ["guardian.progress_reports"]
    with db.scope(admin) as s:
        academics.set_progress_reports(s, actor=admin, guardian_id=family["guardian"], receive=True)
    with db.scope(system=True) as s:
        assert service.send_month_internal(s, institute_id=family["inst"].id, month=NOVEMBER) == 1


def test_a_teacher_sends_their_students_report_on_demand_and_only_theirs(db, family):
    teacher, stranger = family["teacher"], family["stranger"]
    with db.scope(stranger) as s, pytest.raises(PermissionDenied):
        service.send_for_student(s, actor=stranger, student_id=family["asha"], month=NOVEMBER)
    with db.scope(teacher) as s, pytest.raises(NotFound):
        service.send_for_student(s, actor=teacher, student_id=family["outsider"], month=NOVEMBER)
    with db.scope(teacher) as s:
        assert (
            service.send_for_student(s, actor=teacher, student_id=family["asha"], month=NOVEMBER)
            == 1
        )
        assert (
            service.send_for_student(s, actor=teacher, student_id=family["asha"], month=NOVEMBER)
            == 0
        )
    assert sent(db) == [("501", EXPECTED)]


def test_the_figures_of_many_students_take_a_handful_of_queries(db, family, max_queries):
    inst = family["inst"]
    for n in range(30):
        f.student(db, inst, name=f"Extra {n}")
    with db.scope(system=True) as s, max_queries(6):
        rows = service.summaries_internal(s, institute_id=inst.id, month=NOVEMBER)
    assert len(rows) == 32


def test_the_report_card_page_sends_the_month_to_guardians(db, family):
    with clock.frozen(datetime(2026, 11, 28, 6, tzinfo=UTC)):
        at = app_as(family["teacher_email"]).run()
        at.switch_page("pages/common/report_card.py").run()
        at.selectbox(key="rc_student").set_value(
            next(o for o in at.selectbox(key="rc_student").options if "Asha" in o)
        )
        at.run()
        at.button(key="rc_send").click().run()
    assert not errors(at), errors(at)
    assert "Queued for 1 guardian." in [shown(m.value) for m in at.success]
    assert sent(db) == [("501", EXPECTED)]
