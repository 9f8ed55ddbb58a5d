"""Homework and assessments screens: set work, mark the batch in one table, see percentages and
grades; the report card for staff and for a student."""

from datetime import timedelta

import pytest
from sqlmodel import select

from app.academics import service as academics
from app.academics.models import Student
from app.core import clock
from app.core.roles import Role
from app.coursework import service as coursework
from app.coursework.models import AssessmentResult, HomeworkSubmission
from tests import factories as f
from tests.pages.apptest import app_as, by_label, errors, frame, open_page, shown

NAMES = ("Asha Rao", "Bilal Khan", "Chen Li", "Divya Nair")


@pytest.fixture
def school(db):
    inst = f.institute(db, timezone="UTC")
    admin_user = f.user(db, inst, Role.ADMIN, email="head@school.example")
    teacher_user = f.user(db, inst, Role.TEACHER, email="tara@school.example", name="Tara")
    student_user = f.user(db, inst, Role.STUDENT, email="asha@school.example")
    admin = f.actor_for(admin_user)
    with db.scope(admin) as s:
        subject = academics.create_subject(s, actor=admin, name="Mathematics")
        academics.add_topic(s, actor=admin, subject_id=subject.id, name="Fractions")
        batch = academics.create_batch(
            s, actor=admin, name="Math A", subject_id=subject.id, teacher_user_id=teacher_user.id
        )
        ids = []
        for n, name in enumerate(NAMES, start=1):
            student = academics.create_student(
                s, actor=admin, enrollment_no=f"M-{n:03d}", name=name
            )
            academics.join_batch(s, actor=admin, batch_id=batch.id, student_id=student.id)
            ids.append(student.id)
        s.get(Student, ids[0]).user_id = student_user.id
    return {
        "admin": admin_user,
        "teacher": teacher_user,
        "student": student_user,
        "batch": batch.id,
        "ids": ids,
    }


def edits(rows: dict) -> dict:
    """The edit state of a data_editor: {row position: {column: new value}}."""
    return {"edited_rows": rows, "added_rows": [], "deleted_rows": []}


def test_teacher_sets_homework_and_marks_the_batch_in_one_table(db, school):
    today = clock.today_in("UTC")
    at = app_as(school["teacher"].email).run()
    open_page(at, "pages/teacher/homework.py")
    assert not errors(at), errors(at)
    by_label(at.text_input, "Title").input("Fractions worksheet")
    by_label(at.date_input, "Set on").set_value(today - timedelta(days=10))
    by_label(at.date_input, "Due on").set_value(today - timedelta(days=3))
    at.button(key="FormSubmitter:new_homework-Set homework").click().run()
    assert not errors(at), errors(at)
    assert any(shown(s.value).startswith("Set Fractions worksheet for Math A") for s in at.success)
    listing = frame(at, "Handed in")
    assert list(listing["Handed in"]) == ["0/4"]
    marking = frame(at, "Status")
    assert list(marking["Student"]) == list(NAMES)

    teacher = f.actor_for(school["teacher"])
    with db.scope(teacher) as s:
        [hw] = coursework.list_homework(s, actor=teacher, batch_id=school["batch"])
    late_day = (today - timedelta(days=1)).isoformat()
    at.session_state[f"hw_marks_{hw.id}"] = edits(
        {
            0: {"Status": "submitted", "Marks": 9},
            1: {"Status": "late", "Handed in on": late_day},
            2: {"Status": "missing"},
        }
    )
    at.button(key="hw_save").click().run()
    assert not errors(at), errors(at)
    assert "Saved the marking of Fractions worksheet: 3 students updated." in [
        shown(s.value) for s in at.success
    ]
    with db.scope(system=True) as s:
        saved = {
            r.student_id: (r.status, r.on_time, r.marks) for r in s.exec(select(HomeworkSubmission))
        }
    a, b, c, d = school["ids"]
    assert saved == {
        a: ("graded", True, 9.0),
        b: ("late", False, None),
        c: ("missing", False, None),
        d: ("assigned", False, None),
    }
    assert list(frame(at, "Handed in")["Handed in"]) == ["2/4"]
    assert list(frame(at, "Status")["On time"]) == ["yes", "late", "", ""]

    # A mark above the maximum is refused with a message; nothing is saved.
    at.session_state[f"hw_marks_{hw.id}"] = edits({3: {"Status": "submitted", "Marks": 11}})
    at.button(key="hw_save").click().run()
    assert "Divya Nair: 11 marks is not between 0 and 10." in errors(at)
    with db.scope(system=True) as s:
        assert (
            s.exec(
                select(HomeworkSubmission.status).where(HomeworkSubmission.student_id == d)
            ).one()
            == "assigned"
        )


def test_teacher_enters_marks_and_sees_percentages_and_grades(db, school):
    at = app_as(school["teacher"].email).run()
    open_page(at, "pages/teacher/assessments.py")
    assert not errors(at), errors(at)
    by_label(at.selectbox, "Kind").select("exam")
    by_label(at.text_input, "Title").input("Unit test 1")
    by_label(at.number_input, "Maximum marks").set_value(50.0)
    at.button(key="FormSubmitter:new_assessment-Create assessment").click().run()
    assert not errors(at), errors(at)
    teacher = f.actor_for(school["teacher"])
    with db.scope(teacher) as s:
        [test] = coursework.list_assessments(s, actor=teacher, batch_id=school["batch"])
    key = f"as_marks_{test.id}"

    at.session_state[key] = edits({0: {"Marks": 45}, 1: {"Marks": 60}})
    at.button(key="as_save").click().run()
    assert "Bilal Khan: 60 marks is not between 0 and 50." in errors(at)
    with db.scope(system=True) as s:
        assert s.exec(select(AssessmentResult.marks)).all() == [None] * 4

    at.session_state[key] = edits(
        {0: {"Marks": 45}, 1: {"Marks": 33}, 2: {"Absent": True}, 3: {"Marks": 44.995}}
    )
    at.button(key="as_save").click().run()
    assert not errors(at), errors(at)
    assert "Saved the marks of Unit test 1: 4 students updated." in [
        shown(s.value) for s in at.success
    ]
    table = frame(at, "Grade")
    assert list(table["Student"]) == list(NAMES)
    assert list(table["Grade"]) == ["A+", "C", "", "A"]  # 89.99% is still an A
    assert list(table["Percent"].fillna(-1)) == [90.0, 66.0, -1, 89.99]
    assert list(table["Absent"]) == [False, False, True, False]
    assert list(frame(at, "Marks in")["Marks in"]) == ["3/4"]


def test_report_card_for_staff_and_for_the_student(db, school):
    admin = f.actor_for(school["admin"])
    with db.scope(admin) as s:
        quiz = coursework.create_assessment(
            s,
            actor=admin,
            batch_id=school["batch"],
            kind="quiz",
            title="Quiz 1",
            max_marks=10,
            held_on=clock.today_in("UTC"),
        )
        coursework.enter_marks(
            s,
            actor=admin,
            assessment_id=quiz.id,
            rows=[{"student_id": school["ids"][0], "marks": 7}],
        )

    staff = app_as(school["admin"].email).run()
    open_page(staff, "pages/common/report_card.py")
    by_label(staff.text_input, "Find a student (name, enrollment number or phone)").input(
        "M-001"
    ).run()
    assert not errors(staff), errors(staff)
    assert [shown(h.value) for h in staff.subheader] == ["Asha Rao · M-001"]
    assert list(frame(staff, "Grade")["Grade"]) == ["B"]

    student = app_as(school["student"].email).run()
    open_page(student, "pages/common/report_card.py")
    assert not errors(student), errors(student)
    assert student.title[0].value == "My report card"
    assert [shown(h.value) for h in student.subheader] == ["Asha Rao · M-001"]
    assert not student.text_input  # no choosing someone else
    assert len(student.get("download_button")) == 1
