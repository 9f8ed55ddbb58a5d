"""Assessments: one result row per member, marks for the batch in one call, grades on the
institute's scale, make-up sittings, and results feeding topic progress."""

from datetime import date

import pytest
from sqlmodel import func, select

from app.academics.models import Enrollment
from app.attendance.models import TopicProgress
from app.core.errors import PermissionDenied, ValidationError
from app.coursework import service as coursework
from app.coursework.models import AssessmentResult, GradeBand
from tests.coursework.conftest import TODAY

HELD = date(2026, 11, 5)


def create(db, w, actor=None, **kw):
    actor = actor or w["teacher"]
    values = {"kind": "quiz", "title": "Quiz 1", "max_marks": 20, "held_on": HELD}
    values.update(kw)
    with db.scope(actor) as s:
        return coursework.create_assessment(s, actor=actor, batch_id=w["batch"], **values).id


def enter(db, w, assessment_id, rows, actor=None):
    actor = actor or w["teacher"]
    with db.scope(actor) as s:
        return coursework.enter_marks(s, actor=actor, assessment_id=assessment_id, rows=rows)


def results(db, assessment_id) -> dict[int, AssessmentResult]:
    with db.scope(system=True) as s:
        return {
            r.student_id: r
            for r in s.exec(
                select(AssessmentResult).where(AssessmentResult.assessment_id == assessment_id)
            )
        }


def test_marks_for_the_batch_give_percentages_and_grades(db, world):
    quiz = create(db, world, max_marks=30)
    a, b, c, d = world["students"]
    assert set(results(db, quiz)) == set(world["students"])
    assert (
        enter(
            db,
            world,
            quiz,
            [
                {"student_id": a, "marks": 27, "feedback": "Excellent"},
                {"student_id": b, "marks": 20},  # 66.67%
                {"student_id": c, "absent": True},
                {"student_id": d, "marks": 0},
            ],
        )
        == 4
    )
    rows = results(db, quiz)
    assert (rows[a].percentage, rows[a].grade, rows[a].feedback) == (90.0, "A+", "Excellent")
    assert (rows[b].percentage, rows[b].grade) == (66.67, "C")
    assert (rows[c].absent, rows[c].marks, rows[c].percentage, rows[c].grade) == (
        True,
        None,
        None,
        None,
    )
    assert (rows[d].percentage, rows[d].grade) == (0.0, "F")
    with db.scope(world["teacher"]) as s:
        [summary] = coursework.list_assessments(s, actor=world["teacher"], batch_id=world["batch"])
        sheet = coursework.assessment_sheet(s, actor=world["teacher"], assessment_id=quiz)
    assert (summary.students, summary.entered, summary.absent) == (4, 3, 1)
    assert summary.mean_percent == round((90 + 66.67 + 0) / 3, 2)
    assert [(r.student, r.grade) for r in sheet.rows] == [
        ("Asha Rao", "A+"),
        ("Bilal Khan", "C"),
        ("Chen Li", None),
        ("Divya Nair", "F"),
    ]
    # Clearing a mark clears its percentage and grade; a student marked absent then given marks
    # is no longer absent.
    enter(db, world, quiz, [{"student_id": a, "marks": None}, {"student_id": c, "marks": 22.5}])
    rows = results(db, quiz)
    assert (rows[a].percentage, rows[a].grade) == (None, None)
    assert (rows[c].absent, rows[c].percentage, rows[c].grade) == (False, 75.0, "B")


@pytest.mark.parametrize(
    ("marks", "grade"),
    [(89.99, "A"), (90, "A+"), (100, "A+"), (79.99, "B"), (40, "E"), (39.99, "F"), (0, "F")],
)
def test_grade_boundaries(db, world, marks, grade):
    exam = create(db, world, kind="exam", max_marks=100)
    enter(db, world, exam, [{"student_id": world["students"][0], "marks": marks}])
    row = results(db, exam)[world["students"][0]]
    assert (row.percentage, row.grade) == (float(marks), grade)


def test_marks_above_the_maximum_refuse_the_whole_table(db, world):
    quiz = create(db, world)
    a, b = world["students"][:2]
    with pytest.raises(ValidationError, match="Bilal Khan: 21 marks is not between 0 and 20"):
        enter(db, world, quiz, [{"student_id": a, "marks": 10}, {"student_id": b, "marks": 21}])
    with pytest.raises(ValidationError, match="do not sit this assessment"):
        enter(db, world, quiz, [{"student_id": a, "marks": 10}, {"student_id": world["outsider"]}])
    assert all(r.marks is None for r in results(db, quiz).values())


def test_a_teacher_cannot_touch_another_teachers_batch(db, world):
    other = world["other"]
    with pytest.raises(PermissionDenied, match="not one of your batches"):
        create(db, world, actor=other)
    quiz = create(db, world)
    with pytest.raises(PermissionDenied):
        enter(db, world, quiz, [{"student_id": world["students"][0], "marks": 5}], actor=other)
    with db.scope(other) as s, pytest.raises(PermissionDenied):
        coursework.schedule_sitting(
            s, actor=other, assessment_id=quiz, student_id=world["students"][0], scheduled_on=TODAY
        )
    assert results(db, quiz)[world["students"][0]].marks is None


def test_a_make_up_sitting_for_one_student(db, world):
    quiz = create(db, world)
    a, b = world["students"][:2]
    enter(db, world, quiz, [{"student_id": a, "absent": True}, {"student_id": b, "marks": 12}])
    with db.scope(world["teacher"]) as s:
        coursework.schedule_sitting(
            s, actor=world["teacher"], assessment_id=quiz, student_id=a, scheduled_on=TODAY
        )
    row = results(db, quiz)[a]
    assert (row.scheduled_on, row.absent) == (TODAY, False)  # scheduled to sit it, not absent
    with db.scope(world["teacher"]) as s, pytest.raises(ValidationError, match="already in"):
        coursework.schedule_sitting(
            s, actor=world["teacher"], assessment_id=quiz, student_id=b, scheduled_on=TODAY
        )


def test_the_default_scale_is_created_once_and_an_admin_can_replace_it(db, world):
    admin = world["admin"]
    with db.scope(admin) as s:
        assert coursework.grade_scale(s, actor=admin) == list(coursework.DEFAULT_SCALE)
        assert coursework.grade_scale(s, actor=admin)[0] == ("A+", 90)
    with db.scope(system=True) as s:
        assert s.exec(select(func.count()).select_from(GradeBand)).one() == 7
    quiz = create(db, world, max_marks=100)
    enter(db, world, quiz, [{"student_id": world["students"][0], "marks": 72}])
    assert results(db, quiz)[world["students"][0]].grade == "B"
    for bands, message in [
        ([("Pass", 50), ("Fail", 10)], "lowest grade must start at 0%"),
        ([("Pass", 50), ("Pass", 0)], "Each grade appears once"),
        ([("Top", 50), ("Pass", 50), ("Fail", 0)], "same percent"),
        ([("Top", 120), ("Fail", 0)], "from 0 to 100"),
    ]:
        with db.scope(admin) as s, pytest.raises(ValidationError, match=message):
            coursework.set_grade_scale(s, actor=admin, bands=bands)
    with db.scope(world["teacher"]) as s, pytest.raises(PermissionDenied):
        coursework.set_grade_scale(s, actor=world["teacher"], bands=[("P", 0)])
    with db.scope(admin) as s:
        coursework.set_grade_scale(s, actor=admin, bands=[("Merit", 70), ("Pass", 40), ("Fail", 0)])
    with db.scope(admin) as s:
        assert coursework.grade_scale(s, actor=admin) == [("Merit", 70), ("Pass", 40), ("Fail", 0)]
    assert results(db, quiz)[world["students"][0]].grade == "Merit"  # re-graded


def test_results_on_a_topic_update_topic_competency(db, world):
    a, b, c, _ = world["students"]
    fractions = world["topics"][0]
    with db.scope(system=True) as s:
        # Bilal was rated in two classes (mean 3); Asha and Chen have no progress yet.
        s.add(
            TopicProgress(
                institute_id=world["inst"].id,
                student_id=b,
                topic_id=fractions,
                competency=3.0,
                status="in_progress",
                minutes_spent=120,
                sessions_count=2,
            )
        )
        # a's enrolment in the subject came with joining the batch (issue 22).
    test = create(db, world, kind="exam", title="Fractions test", max_marks=50, topic_id=fractions)
    enter(
        db,
        world,
        test,
        [
            {"student_id": a, "marks": 45},  # 90% -> 4.5
            {"student_id": b, "marks": 50},  # 100% -> 5, blended with 3 over two classes -> 4
            {"student_id": c, "marks": 15},  # 30% -> 1.5
        ],
    )
    with db.scope(system=True) as s:
        progress = {
            p.student_id: p
            for p in s.exec(select(TopicProgress).where(TopicProgress.topic_id == fractions))
        }
        enrolment = s.exec(select(Enrollment).where(Enrollment.student_id == a)).one()
    assert (progress[a].competency, progress[a].status, progress[a].sessions_count) == (
        4.5,
        "completed",
        0,
    )
    assert (progress[b].competency, progress[b].status) == (4.0, "completed")
    assert (progress[b].sessions_count, progress[b].minutes_spent) == (2, 120)  # classes' own
    assert (progress[c].competency, progress[c].status) == (1.5, "needs_review")
    assert enrolment.completion_pct == 50.0  # one of the subject's two topics completed
    # Re-saving unchanged marks does not count the result twice.
    enter(db, world, test, [{"student_id": b, "marks": 50}])
    with db.scope(system=True) as s:
        assert s.get(TopicProgress, progress[b].id).competency == 4.0


def test_an_assessment_without_a_topic_leaves_topic_progress_alone(db, world):
    quiz = create(db, world)
    enter(db, world, quiz, [{"student_id": world["students"][0], "marks": 20}])
    with db.scope(system=True) as s:
        assert s.exec(select(func.count()).select_from(TopicProgress)).one() == 0


def test_a_topic_must_belong_to_the_subject(db, world):
    from app.academics import service as academics

    with db.scope(world["admin"]) as s:
        art = academics.create_subject(s, actor=world["admin"], name="Art")
        sketching = academics.add_topic(s, actor=world["admin"], subject_id=art.id, name="Lines")
    with pytest.raises(ValidationError, match="syllabus"):
        create(db, world, topic_id=sketching.id)
    with pytest.raises(ValidationError, match="quiz, assignment, project, exam or practical"):
        create(db, world, kind="viva")
