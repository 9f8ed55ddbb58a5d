"""Docstrings that promise a number of queries keep their word, however many rows there are."""

from __future__ import annotations

from datetime import time, timedelta

from app.academics import service as academics
from app.academics.models import BatchSchedule, Student
from app.attendance import service as attendance
from app.core import clock, ownership
from app.core.roles import Role
from app.coursework import service as coursework
from app.crm import service as crm
from app.identity import sessions
from app.inbox import service as inbox
from tests import factories as f


def school(db, *, batches: int = 3, students: int = 4):
    """An institute with a teacher, `batches` batches (each with a weekly class) and
    `students` students in every batch, the first of them with a student account."""
    inst = f.institute(db)
    admin = f.actor_for(f.user(db, inst, Role.ADMIN))
    teacher = f.user(db, inst, Role.TEACHER)
    pupil = f.user(db, inst, Role.STUDENT)
    subject = f.subject(db, inst, name="Mathematics")
    made = [f.batch(db, inst, subject_id=subject.id, teacher=teacher) for _ in range(batches)]
    kids = [f.student(db, inst, user=pupil)] + [f.student(db, inst) for _ in range(students - 1)]
    with db.scope(system=True) as s:
        for b in made:
            s.add(BatchSchedule(institute_id=inst.id, batch_id=b.id, weekday=0, start_time=time(9)))
    for b in made:
        for kid in kids:
            f.member(db, inst, b.id, kid.id)
    return inst, admin, f.actor_for(teacher), f.actor_for(pupil), made, kids


def test_batches_with_counts_and_schedules_in_three_queries(db, max_queries):
    _, admin, _, _, made, _ = school(db, batches=4)
    with db.scope(admin) as s, max_queries(3):
        listed = academics.list_batches(s, actor=admin)
    assert len(listed) == 4


def test_a_batchs_homework_in_three_queries(db, max_queries):
    inst, _, teacher, _, made, kids = school(db, batches=1)
    with db.scope(teacher) as s:
        for n in range(3):
            coursework.create_homework(
                s,
                actor=teacher,
                batch_id=made[0].id,
                title=f"Sheet {n}",
                # the institute's today: in the evening UTC, India is already tomorrow
                due_on=clock.today_in(inst.timezone) + timedelta(days=n),
            )
    with db.scope(teacher) as s, max_queries(3):
        listed = coursework.list_homework(s, actor=teacher, batch_id=made[0].id)
    assert len(listed) == 3


def test_a_students_attendance_in_three_queries(db, max_queries):
    _, _, _, pupil, _, _ = school(db, batches=3)
    with db.scope(pupil) as s, max_queries(3):
        mine = attendance.my_attendance(s, actor=pupil)
    assert mine.recent == []


def test_classes_between_two_dates_in_three_queries(db, max_queries):
    inst, _, _, _, made, _ = school(db, batches=3)
    today = clock.today_in(inst.timezone)
    with db.scope(system=True) as s, max_queries(3):  # sessions, schedules, holidays
        slots = attendance.classes_between_internal(
            s,
            institute_id=inst.id,
            batch_ids={b.id for b in made},
            start=today,
            end=today + timedelta(days=13),
            tz=inst.timezone,
        )
    assert len(slots) == 6  # two Mondays a batch


def test_many_inbox_actions_open_in_two_queries(db, max_queries):
    inst, _, _, _, _, kids = school(db, batches=1, students=5)
    actions = [
        {
            "type": "absence_streak",
            "reason": "Call home",
            "dedupe_key": f"k{k.id}",
            "student_id": k.id,
        }
        for k in kids
    ]
    with db.scope(system=True) as s, max_queries(2):
        opened = inbox.open_actions_bulk_internal(s, institute_id=inst.id, actions=actions)
    assert opened == 5


def test_ids_are_checked_in_one_query(db, max_queries):
    inst, _, _, _, _, kids = school(db, batches=1, students=6)
    with db.scope(system=True) as s, max_queries(1):
        ok = ownership.all_owned(
            s, Student, [k.id for k in kids], inst.id, message="No such student.", field="student"
        )
    assert sorted(ok) == sorted(k.id for k in kids)


def test_a_session_and_its_user_in_one_query(db, max_queries):
    _, _, teacher, _, _, _ = school(db, batches=1)
    with db.scope(system=True) as s:
        token = sessions.start_session(s, user_id=teacher.user_id, method="password", source="t")
    with db.scope(system=True) as s, max_queries(1):
        found = sessions.look_up_session(s, token=token)
    assert found.user is not None


def test_the_pipeline_board_in_two_queries(db, max_queries):
    inst = f.institute(db)
    counselor = f.actor_for(f.user(db, inst, Role.COUNSELOR))
    with db.scope(counselor) as s:
        for n in range(12):
            crm.create_inquiry(
                s, actor=counselor, student_name=f"Lead {n}", phone=f"+91 98765 {43210 + n:05d}"
            )
    with db.scope(counselor) as s, max_queries(2):
        board = crm.pipeline(s, actor=counselor)
    assert sum(column.count for column in board) == 12
