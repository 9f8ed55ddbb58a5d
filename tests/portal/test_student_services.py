"""The student-scoped services: each derives the student from the actor and returns only their
own rows; staff cannot call them; an account without a student record gets a clear message."""

from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest

from app.academics import service as academics
from app.analytics import progress as student_progress
from app.attendance import service as attendance
from app.badges import service as badges
from app.core.errors import NotFound, PermissionDenied
from app.core.roles import Role
from app.coursework import service as coursework
from app.notify import service as notify
from tests import factories as f
from tests.portal.world import TODAY


def test_my_student_is_the_one_of_the_session_and_the_others_delegate(db, world):
    asha = f.actor_for(world["asha_user"])
    with db.scope(asha) as s:
        assert academics.my_student(s, actor=asha).id == world["asha"]
        assert badges.my_student(s, actor=asha).id == world["asha"]
        assert coursework.my_student(s, actor=asha).id == world["asha"]
    loner = f.actor_for(f.user(db, world["inst"], Role.STUDENT, email="loner@portal.example"))
    with db.scope(loner) as s:
        with pytest.raises(NotFound, match="not linked to a student record"):
            academics.my_student(s, actor=loner)
        with pytest.raises(NotFound, match="not linked to a student record"):
            attendance.my_sessions(s, actor=loner, start=TODAY, end=TODAY)
        assert coursework.my_student(s, actor=loner) is None
    tara = f.actor_for(world["tara"])
    with db.scope(tara) as s:
        for fn, kwargs in (
            (academics.my_student, {}),
            (attendance.my_sessions, {"start": TODAY, "end": TODAY}),
            (attendance.my_attendance, {}),
            (student_progress.my_progress, {}),
            (coursework.my_homework, {}),
            (coursework.my_results, {}),
            (notify.my_announcements, {}),
        ):
            with pytest.raises(PermissionDenied):
                fn(s, actor=tara, **kwargs)


def test_my_sessions_are_held_and_planned_classes_of_my_batches_while_a_member(db, world):
    asha = f.actor_for(world["asha_user"])
    admin = f.actor_for(world["admin"])
    # Asha joins Physics B today: its classes count from today, not before.
    with db.scope(admin) as s:
        academics.join_batch(s, actor=admin, batch_id=world["phys_b"], student_id=world["asha"])
    with db.scope(asha) as s:
        classes = attendance.my_sessions(
            s, actor=asha, start=date(2026, 11, 2), end=date(2026, 11, 17)
        )
    got = [(c.date.isoformat(), c.batch, c.status, c.mark) for c in classes]
    assert got == [
        ("2026-11-02", "Math A", "missed", None),
        ("2026-11-03", "Math A", "missed", None),
        ("2026-11-04", "Math A", "submitted", "late"),
        ("2026-11-09", "Math A", "submitted", "present"),
        ("2026-11-10", "Physics B", "missed", None),
        ("2026-11-10", "Math A", "scheduled", None),
        ("2026-11-11", "Math A", "scheduled", None),
        ("2026-11-16", "Math A", "planned", None),
        ("2026-11-17", "Physics B", "planned", None),
        ("2026-11-17", "Math A", "planned", None),
    ]
    assert classes[0].starts_at == datetime(2026, 11, 2, 4, 30, tzinfo=UTC)
    assert classes[0].teacher == "Tara Teacher" and classes[0].subject == "Mathematics"
    assert all(c.session_id is None for c in classes if c.status == "planned")


def test_calendar_file_parses_and_lists_exactly_my_classes(db, world):
    asha = f.actor_for(world["asha_user"])
    start, end = date(2026, 11, 2), date(2026, 11, 22)
    with db.scope(asha) as s:
        data = attendance.my_calendar_ics(s, actor=asha, start=start, end=end)
        expected = attendance.my_sessions(s, actor=asha, start=start, end=end)
    assert b"\r\n" in data and all(len(line) <= 75 for line in data.split(b"\r\n"))
    calendar = icalendar.Calendar.from_ical(data)
    events = [c for c in calendar.walk("VEVENT")]
    assert len(events) == len(expected) == 9  # Math A Mon, Tue and Wed for three weeks
    times = {
        10: (4, 30),  # Mon 10:00 IST
        17: (11, 30),  # Tue 17:00 IST
        16: (10, 30),  # Wed 16:00 IST
    }
    seen = []
    for event, mine in zip(events, expected, strict=True):
        starts, ends = event.decoded("DTSTART"), event.decoded("DTEND")
        assert starts.utcoffset().total_seconds() == 0
        assert starts == mine.starts_at and ends == mine.ends_at
        assert (ends - starts).total_seconds() == 3600
        assert str(event["SUMMARY"]) == "Mathematics (Math A)"
        assert str(event["LOCATION"]) == "Math A"
        assert "Tara Teacher" in str(event["DESCRIPTION"])
        seen.append((starts.date(), (starts.hour, starts.minute)))
        assert str(event["UID"]) == mine.uid
    assert len({str(e["UID"]) for e in events}) == 9
    assert {t for _, t in seen} == set(times.values())
    assert min(d for d, _ in seen) == date(2026, 11, 2) and max(d for d, _ in seen) == date(
        2026, 11, 18
    )


def test_my_attendance_homework_results_progress_and_announcements(db, world):
    asha = f.actor_for(world["asha_user"])
    with db.scope(asha) as s:
        mine = attendance.my_attendance(s, actor=asha)
        work = coursework.my_homework(s, actor=asha)
        todo = coursework.my_homework(s, actor=asha, open_only=True)
        results = coursework.my_results(s, actor=asha)
        progress = student_progress.my_progress(s, actor=asha)
        news = notify.my_announcements(s, actor=asha)
        month = attendance.my_attendance(s, actor=asha, since=date(2026, 11, 5), recent=0)
    t = mine.overall
    assert (t.sessions, t.present, t.late, t.absent, t.percent) == (2, 1, 1, 0, 100.0)
    assert [(m.date, m.status) for m in mine.recent] == [
        (date(2026, 11, 9), "present"),
        (date(2026, 11, 4), "late"),
    ]
    assert [b for b, _ in mine.by_batch] == ["Math A"]
    assert (month.overall.sessions, month.recent) == (1, [])

    assert [(h.title, h.status, h.marks, h.max_marks, h.comment) for h in work] == [
        ("Decimals sheet", "assigned", None, None, None),
        ("Fractions drill", "graded", 8, 10, "Neat work"),
    ]
    assert [h.title for h in todo] == ["Decimals sheet"]

    [quiz] = results
    assert (quiz.title, quiz.marks, quiz.max_marks, quiz.percentage, quiz.feedback) == (
        "Unit test 1",
        18,
        20,
        90.0,
        "Well done",
    )
    assert quiz.grade == "A+" and not quiz.upcoming

    [maths] = progress
    assert maths.subject == "Mathematics"
    assert [(t.topic, t.status, t.competency) for t in maths.topics] == [
        ("Fractions", "completed", 5.0),
        ("Decimals", "not_started", 0.0),
        ("Percentages", "not_started", 0.0),
    ]
    assert maths.done == 1 and maths.completion_pct == 33.3
    # Pace as the staff's learning analytics see it: one topic (60 syllabus minutes) in 8 weeks.
    # 120 minutes to go at 7.5 minutes a week: 16 weeks.
    assert maths.topics_per_week == pytest.approx(0.125, abs=0.01)
    assert maths.predicted_completion == TODAY + timedelta(weeks=16)

    assert [a.title for a, _ in news] == ["Bring calculators", "Holiday on Friday"]
    assert [batch for _, batch in news] == ["Math A", None]


def test_calendar_file_escapes_and_folds_long_names(db, world):
    from app.academics.models import Batch

    name = "Maths, Advanced; Évening — grüppe with a very long name \\ that needs folding twice"
    with db.scope(system=True) as s:
        s.get(Batch, world["math_a"]).name = name
    asha = f.actor_for(world["asha_user"])
    with db.scope(asha) as s:
        data = attendance.my_calendar_ics(s, actor=asha, start=TODAY, end=TODAY)
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))
    [event] = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert str(event["LOCATION"]) == name
    assert str(event["SUMMARY"]) == f"Mathematics ({name})"
