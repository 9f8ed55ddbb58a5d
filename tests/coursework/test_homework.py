"""Homework: set for the batch, marked as one table, overdue work becomes missing."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from app.academics import service as academics
from app.core import clock
from app.core.errors import PermissionDenied, ValidationError
from app.coursework import jobs
from app.coursework import service as coursework
from app.coursework.models import HomeworkSubmission
from app.worker.registry import all_jobs
from tests import factories as f
from tests.coursework.conftest import NOW, TODAY


def set_homework(db, w, actor=None, **kw):
    actor = actor or w["teacher"]
    values = {
        "title": "Worksheet 3",
        "assigned_on": date(2026, 11, 2),
        "due_on": TODAY + timedelta(days=2),
        "max_marks": 10,
    }
    values.update(kw)
    with clock.frozen(NOW), db.scope(actor) as s:
        return coursework.create_homework(s, actor=actor, batch_id=w["batch"], **values).id


def submissions(db, homework_id) -> dict[int, HomeworkSubmission]:
    with db.scope(system=True) as s:
        return {
            r.student_id: r
            for r in s.exec(
                select(HomeworkSubmission).where(HomeworkSubmission.homework_id == homework_id)
            )
        }


def mark(db, w, homework_id, rows, actor=None):
    actor = actor or w["teacher"]
    with clock.frozen(NOW), db.scope(actor) as s:
        return coursework.mark_homework(s, actor=actor, homework_id=homework_id, rows=rows)


def test_homework_is_set_for_every_current_member_in_the_institutes_calendar(db, world):
    with db.scope(world["admin"]) as s:
        academics.leave_batch(
            s, actor=world["admin"], batch_id=world["batch"], student_id=world["students"][3]
        )
    # 20:00 UTC on 9 Nov is already 10 Nov in Kolkata: the homework is set on the 10th.
    with clock.frozen(datetime(2026, 11, 9, 20, 0, tzinfo=UTC)), db.scope(world["teacher"]) as s:
        hw = coursework.create_homework(
            s, actor=world["teacher"], batch_id=world["batch"], title="Ex 1", due_on=TODAY
        )
    assert hw.assigned_on == TODAY
    rows = submissions(db, hw.id)
    assert set(rows) == set(world["students"][:3])  # the student who left gets none
    assert {r.status for r in rows.values()} == {"assigned"}
    with db.scope(world["teacher"]) as s:
        [summary] = coursework.list_homework(s, actor=world["teacher"], batch_id=world["batch"])
    assert (summary.title, summary.students, summary.handed_in) == ("Ex 1", 3, 0)


def test_a_student_who_joins_later_gets_the_work_still_open_and_no_past_work(db, world):
    past = set_homework(db, world, title="Done already", due_on=TODAY - timedelta(days=1))
    open_hw = set_homework(db, world, title="Still open", due_on=TODAY + timedelta(days=3))
    with clock.frozen(NOW), db.scope(world["teacher"]) as s:
        exam = coursework.create_assessment(
            s,
            actor=world["teacher"],
            batch_id=world["batch"],
            kind="exam",
            title="Unit test",
            max_marks=50,
            held_on=TODAY + timedelta(days=5),
        ).id
        old_quiz = coursework.create_assessment(
            s,
            actor=world["teacher"],
            batch_id=world["batch"],
            kind="quiz",
            title="Last week",
            max_marks=10,
            held_on=TODAY - timedelta(days=7),
        ).id
    with clock.frozen(NOW), db.scope(world["admin"]) as s:
        late = academics.create_student(s, actor=world["admin"], enrollment_no="M-050", name="Lal")
        academics.join_batch(s, actor=world["admin"], batch_id=world["batch"], student_id=late.id)
    assert late.id in submissions(db, open_hw) and late.id not in submissions(db, past)
    assert submissions(db, open_hw)[late.id].status == "assigned"
    with db.scope(world["teacher"]) as s:
        sheet = coursework.assessment_sheet(s, actor=world["teacher"], assessment_id=exam)
        old = coursework.assessment_sheet(s, actor=world["teacher"], assessment_id=old_quiz)
    assert late.id in {r.student_id for r in sheet.rows}
    assert late.id not in {r.student_id for r in old.rows}
    # Leaving and coming back does not duplicate anything.
    with clock.frozen(NOW), db.scope(world["admin"]) as s:
        academics.leave_batch(s, actor=world["admin"], batch_id=world["batch"], student_id=late.id)
        academics.join_batch(s, actor=world["admin"], batch_id=world["batch"], student_id=late.id)
    assert len(submissions(db, open_hw)) == 5


def test_due_date_before_set_date_is_refused(db, world):
    with pytest.raises(ValidationError, match="before the day it is set"):
        set_homework(db, world, assigned_on=None, due_on=TODAY - timedelta(days=1))


def test_the_whole_table_is_marked_in_one_call_and_on_time_is_derived(db, world):
    hw = set_homework(db, world, due_on=TODAY - timedelta(days=3))  # due 7 Nov
    a, b, c, d = world["students"]
    changed = mark(
        db,
        world,
        hw,
        [
            {"student_id": a, "status": "submitted"},  # no date: came in on time
            {"student_id": b, "status": "late", "submitted_on": date(2026, 11, 9)},
            {
                "student_id": c,
                "status": "submitted",
                "submitted_on": date(2026, 11, 6),
                "marks": 8.5,
                "comment": "Neat work",
            },
            {"student_id": d, "status": "missing"},
        ],
    )
    assert changed == 4
    rows = submissions(db, hw)
    assert (rows[a].status, rows[a].on_time, rows[a].submitted_on) == (
        "submitted",
        True,
        date(2026, 11, 7),
    )
    assert (rows[b].status, rows[b].on_time) == ("late", False)
    assert (rows[c].status, rows[c].on_time, rows[c].marks, rows[c].comment) == (
        "graded",  # work with marks is graded
        True,
        8.5,
        "Neat work",
    )
    assert (rows[d].status, rows[d].on_time, rows[d].submitted_on) == ("missing", False, None)
    with db.scope(world["teacher"]) as s:
        [summary] = coursework.list_homework(s, actor=world["teacher"], batch_id=world["batch"])
        sheet = coursework.homework_marking(s, actor=world["teacher"], homework_id=hw)
    assert (summary.handed_in, summary.on_time, summary.missing, summary.graded) == (3, 2, 1, 1)
    assert [r.student for r in sheet.rows] == ["Asha Rao", "Bilal Khan", "Chen Li", "Divya Nair"]
    # Saving the same table again changes nothing.
    assert mark(db, world, hw, [{"student_id": b, "status": "late"}]) == 0


def test_a_late_hand_in_is_late_even_when_graded(db, world):
    hw = set_homework(db, world, due_on=TODAY - timedelta(days=3))
    a = world["students"][0]
    mark(db, world, hw, [{"student_id": a, "status": "graded", "submitted_on": TODAY, "marks": 9}])
    assert (submissions(db, hw)[a].status, submissions(db, hw)[a].on_time) == ("graded", False)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"status": "submitted", "marks": 12}, "12 marks is not between 0 and 10"),
        ({"status": "graded", "marks": -1}, "-1 marks is not between 0 and 10"),
        ({"status": "submitted", "submitted_on": date(2026, 11, 9)}, "after the due date"),
        ({"status": "late", "submitted_on": date(2026, 11, 6)}, "mark it submitted"),
        ({"status": "missing", "marks": 5}, "marks are only for work that was handed in"),
        ({"status": "lost"}, "'lost' is not a status"),
    ],
)
def test_a_bad_row_refuses_the_whole_table(db, world, row, message):
    hw = set_homework(db, world, due_on=date(2026, 11, 7))
    a, b = world["students"][:2]
    with pytest.raises(ValidationError, match=message) as refused:
        mark(db, world, hw, [{"student_id": a, "status": "submitted"}, {"student_id": b, **row}])
    assert refused.value.message.startswith("Bilal Khan")
    assert {r.status for r in submissions(db, hw).values()} == {"assigned"}  # nothing written


def test_a_row_for_a_student_not_set_the_homework_refuses_the_table(db, world):
    hw = set_homework(db, world)
    rows = [
        {"student_id": world["students"][0], "status": "submitted"},
        {"student_id": world["outsider"], "status": "submitted"},
    ]
    with pytest.raises(ValidationError, match="1 row is for students who were not set"):
        mark(db, world, hw, rows)
    assert {r.status for r in submissions(db, hw).values()} == {"assigned"}


def test_homework_without_maximum_marks_takes_no_marks(db, world):
    hw = set_homework(db, world, max_marks=None)
    with pytest.raises(ValidationError, match="no maximum marks"):
        mark(db, world, hw, [{"student_id": world["students"][0], "status": "graded", "marks": 3}])


def test_a_teacher_cannot_touch_another_teachers_batch(db, world):
    other = world["other"]
    with pytest.raises(PermissionDenied, match="not one of your batches"):
        set_homework(db, world, actor=other)
    hw = set_homework(db, world)
    with db.scope(other) as s:
        with pytest.raises(PermissionDenied):
            coursework.homework_marking(s, actor=other, homework_id=hw)
        with pytest.raises(PermissionDenied):
            coursework.list_homework(s, actor=other, batch_id=world["batch"])
    with pytest.raises(PermissionDenied):
        mark(db, world, hw, [{"student_id": world["students"][0], "status": "late"}], actor=other)
    assert {r.status for r in submissions(db, hw).values()} == {"assigned"}
    # The admin may act on any batch of the institute.
    assert mark(
        db, world, hw, [{"student_id": world["students"][0], "status": "submitted"}], world["admin"]
    )


def test_missing_job_marks_only_overdue_assigned_work_and_is_idempotent(db, world):
    a, b, c, _ = world["students"]
    overdue = set_homework(db, world, title="Due yesterday", due_on=date(2026, 11, 9))
    due_today = set_homework(db, world, title="Due today", due_on=TODAY)
    mark(db, world, overdue, [{"student_id": a, "status": "submitted"}])
    mark(db, world, overdue, [{"student_id": b, "status": "late", "submitted_on": TODAY}])
    # Another institute's overdue work is its own job run's business, counted separately.
    other_inst = f.institute(db, timezone="America/Los_Angeles")
    other_admin = f.actor_for(f.user(db, other_inst, "admin"))
    with db.scope(other_admin) as s:
        subject = academics.create_subject(s, actor=other_admin, name="Art")
        batch = academics.create_batch(s, actor=other_admin, name="Art 1", subject_id=subject.id)
        kid = academics.create_student(s, actor=other_admin, enrollment_no="A1", name="Ana")
        academics.join_batch(s, actor=other_admin, batch_id=batch.id, student_id=kid.id)
    with clock.frozen(NOW), db.scope(other_admin) as s:
        far = coursework.create_homework(
            s,
            actor=other_admin,
            batch_id=batch.id,
            title="Sketch",
            assigned_on=date(2026, 11, 2),
            due_on=date(2026, 11, 9),
        ).id
    # 05:00 UTC on 10 Nov: the 10th in Kolkata, still the 9th in Los Angeles.
    with clock.frozen(datetime(2026, 11, 10, 5, 0, tzinfo=UTC)):
        first = jobs.homework_missing(engine=db.engine)
        again = jobs.homework_missing(engine=db.engine)
    assert first["missing"] == 2 and again["missing"] == 0
    rows = submissions(db, overdue)
    assert {sid: r.status for sid, r in rows.items()} == {
        a: "submitted",
        b: "late",
        c: "missing",
        world["students"][3]: "missing",
    }
    assert {r.status for r in submissions(db, due_today).values()} == {"assigned"}
    assert submissions(db, far)[kid.id].status == "assigned"  # not yet overdue over there
    with clock.frozen(datetime(2026, 11, 10, 9, 0, tzinfo=UTC)):  # the 10th in Los Angeles too
        assert jobs.homework_missing(engine=db.engine)["missing"] == 1
    assert submissions(db, far)[kid.id].status == "missing"


def test_the_missing_job_is_registered_daily():
    job = all_jobs()["homework_missing"]
    assert job.trigger["trigger"] == "cron" and job.period(NOW) == "2026-11-10"
