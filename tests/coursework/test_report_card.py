"""The report card: one student's attendance, homework, assessments and topic progress for a
period, seen by staff who may and by the student alone; and its PDF."""

import io
import unicodedata
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import event

from app.attendance.models import AttendanceRecord, ClassSession
from app.core import clock
from app.core.errors import NotFound, PermissionDenied, ValidationError
from app.core.roles import Role
from app.coursework import service as coursework
from tests import factories as f
from tests.coursework.conftest import NOW, TODAY

START, END = date(2026, 11, 1), TODAY


@pytest.fixture
def card_world(db, world):
    """Asha's term so far, with a little of the others' and of outside the period around it."""
    w = world
    asha, bilal = w["students"][:2]
    teacher = w["teacher"]
    with db.scope(system=True) as s:
        marks = ["present", "present", "late", "absent", "excused", "present"]  # last: October
        days = [date(2026, 11, d) for d in (2, 3, 4, 5, 6)] + [date(2026, 10, 26)]
        for day, mark in zip(days, marks, strict=True):
            starts = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=4)
            row = ClassSession(
                institute_id=w["inst"].id,
                batch_id=w["batch"],
                date=day,
                starts_at=starts,
                ends_at=starts + timedelta(hours=1),
                status="closed",
            )
            s.add(row)
            s.flush()
            s.add(
                AttendanceRecord(
                    institute_id=w["inst"].id, session_id=row.id, student_id=asha, status=mark
                )
            )
            s.add(
                AttendanceRecord(
                    institute_id=w["inst"].id, session_id=row.id, student_id=bilal, status="absent"
                )
            )
    with clock.frozen(NOW), db.scope(teacher) as s:

        def homework(title, due_on, **kw):
            return coursework.create_homework(
                s,
                actor=teacher,
                batch_id=w["batch"],
                title=title,
                assigned_on=date(2026, 10, 20),
                due_on=due_on,
                max_marks=10,
                **kw,
            ).id

        on_time = homework("HW on time", date(2026, 11, 3))
        late = homework("HW late", date(2026, 11, 4))
        homework("HW missing", date(2026, 11, 5))
        homework("HW due today", TODAY)
        earlier = homework("HW in October", date(2026, 10, 25))
        for hw, row in [
            (on_time, {"status": "graded", "submitted_on": date(2026, 11, 3), "marks": 8}),
            (late, {"status": "graded", "submitted_on": date(2026, 11, 6), "marks": 5}),
            (earlier, {"status": "graded", "submitted_on": date(2026, 10, 25), "marks": 1}),
        ]:
            coursework.mark_homework(
                s, actor=teacher, homework_id=hw, rows=[{"student_id": asha, **row}]
            )
        coursework.mark_missing_homework_internal(s, institute_id=w["inst"].id)
        quiz = coursework.create_assessment(
            s,
            actor=teacher,
            batch_id=w["batch"],
            kind="quiz",
            title="Quiz — Fractions",
            max_marks=20,
            held_on=date(2026, 11, 5),
            topic_id=w["topics"][0],
        ).id
        exam = coursework.create_assessment(
            s,
            actor=teacher,
            batch_id=w["batch"],
            kind="exam",
            title="Midterm",
            max_marks=50,
            held_on=date(2026, 11, 6),
        ).id
        makeup = coursework.create_assessment(
            s,
            actor=teacher,
            batch_id=w["batch"],
            kind="practical",
            title="Lab 1",
            max_marks=10,
            held_on=date(2026, 11, 7),
        ).id
        coursework.schedule_sitting(
            s, actor=teacher, assessment_id=makeup, student_id=asha, scheduled_on=date(2026, 11, 20)
        )
        coursework.enter_marks(
            s,
            actor=teacher,
            assessment_id=quiz,
            rows=[{"student_id": asha, "marks": 18}, {"student_id": bilal, "marks": 4}],
        )
        coursework.enter_marks(
            s, actor=teacher, assessment_id=exam, rows=[{"student_id": asha, "marks": 39.5}]
        )
    return w


def card_for(db, actor, student_id=None, start=START, end=END):
    with db.scope(actor) as s:
        return coursework.report_card(s, actor=actor, student_id=student_id, start=start, end=end)


def test_the_report_card_combines_the_period(db, card_world):
    w = card_world
    card = card_for(db, w["admin"], w["students"][0])
    assert (card.student, card.enrollment_no, card.batches) == ("Asha Rao", "M-001", ["Math A"])
    a = card.attendance
    assert (a.sessions, a.present, a.late, a.absent, a.excused) == (5, 2, 1, 1, 1)
    assert a.percent == 75.0  # 3 attended of the 4 not excused
    h = card.homework
    assert (h.set, h.on_time, h.late, h.missing, h.pending) == (4, 1, 1, 1, 1)
    assert h.mean_percent == 65.0  # 8/10 and 5/10; October's homework is outside the period
    assert [
        (x.date, x.kind, x.title, x.marks, x.percentage, x.grade) for x in card.assessments
    ] == [
        (date(2026, 11, 5), "quiz", "Quiz — Fractions", 18, 90.0, "A+"),
        (date(2026, 11, 6), "exam", "Midterm", 39.5, 79.0, "B"),
    ]  # the lab moved to the 20th for Asha falls outside the period
    assert card.mean_percent == 84.5
    assert [(t.topic, t.status, t.competency) for t in card.topics] == [
        ("Fractions", "completed", 4.5)
    ]
    later = card_for(db, w["admin"], w["students"][0], end=date(2026, 11, 30))
    assert [x.title for x in later.assessments][-1] == "Lab 1"


def test_the_report_card_takes_a_handful_of_queries(db, card_world):
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        card_for(db, card_world["admin"], card_world["students"][0])
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) <= 12, len(statements)


def test_staff_who_may_see_it(db, card_world):
    w = card_world
    asha = w["students"][0]
    counselor = f.actor_for(f.user(db, w["inst"], Role.COUNSELOR))
    assert card_for(db, counselor, asha).student == "Asha Rao"
    assert card_for(db, w["teacher"], asha).student == "Asha Rao"
    with pytest.raises(PermissionDenied, match="not in one of your batches"):
        card_for(db, w["other"], asha)
    stranger = f.actor_for(f.user(db, f.institute(db), Role.ADMIN))
    with pytest.raises(NotFound):
        card_for(db, stranger, asha)
    with pytest.raises(ValidationError, match="ends before it starts"):
        card_for(db, w["admin"], asha, start=END, end=START)


def test_a_student_sees_only_their_own_report_card(db, card_world):
    w = card_world
    asha, bilal = w["students"][:2]
    asha_user = f.user(db, w["inst"], Role.STUDENT)
    with db.scope(system=True) as s:
        from app.academics.models import Student

        s.get(Student, asha).user_id = asha_user.id
    me = f.actor_for(asha_user)
    assert card_for(db, me).student == "Asha Rao"
    assert card_for(db, me, asha).attendance.sessions == 5
    with pytest.raises(PermissionDenied, match="only your own"):
        card_for(db, me, bilal)
    with db.scope(me) as s, pytest.raises(PermissionDenied):
        coursework.report_card_pdf(s, actor=me, student_id=bilal, start=START, end=END)
    unlinked = f.actor_for(f.user(db, w["inst"], Role.STUDENT))
    with pytest.raises(NotFound, match="not linked to a student record"):
        card_for(db, unlinked)


def test_the_pdf_shows_the_student_and_their_results(db, card_world):
    w = card_world
    with db.scope(w["admin"]) as s:
        pdf = coursework.report_card_pdf(
            s, actor=w["admin"], student_id=w["students"][0], start=START, end=END
        )
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Asha Rao (M-001)" in text
    assert "Report card" in text and "01 Nov 2026 to 10 Nov 2026" in text
    assert "Quiz — Fractions" in text
    assert "Midterm" in text and "79%" in text
    assert "5 classes: 2 present, 1 late, 1 absent, 1 excused" in text
    assert "Fractions" in text


@pytest.mark.parametrize("name", ["अनन्या शर्मा", "க்ருஷ்ணன் முருகன்", "José Núñez-Çelik", "প্রিয়া দাস"])
def test_the_pdf_prints_a_name_in_any_script(db, card_world, name):
    """Devanagari, Tamil, Bengali and accented names print as typed, not as "?"."""
    from app.academics.models import Student

    w = card_world
    with db.scope(system=True) as s:
        student = s.get(Student, w["students"][0])
        student.name = name
        s.add(student)
    with db.scope(w["admin"]) as s:
        pdf = coursework.report_card_pdf(
            s, actor=w["admin"], student_id=w["students"][0], start=START, end=END
        )
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    # Text extraction leaves control characters where shaping joined glyphs: drop them.
    text = "".join(c for c in text if c == "\n" or unicodedata.category(c) != "Cc")
    assert f"{name} (M-001)" in text
    assert "?" not in text
