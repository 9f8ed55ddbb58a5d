"""Learning analytics against hand-worked numbers.

Today is Friday 20 Nov 2026 (UTC institute). The 8-week window runs from Monday 28 Sep to
Sunday 22 Nov. The syllabus has five topics of 60, 60, 120, 120 and 240 estimated minutes.

| student | completed (week of)                         | velocity | trend             | pace (min/week)        | remaining |
|---------|---------------------------------------------|----------|-------------------|------------------------|-----------|
| Asha    | T1 (5 Oct), T2 (26 Oct), T3 (9 Nov), T4 (16 Nov) | 4/8 = 0.5 | (3/4) − (1/4) = 0.5 | (60+60+120+120)/8 = 45 | 240 |
| Bala    | T1 long ago (1 Sep)                          | 0        | 0                 | 0 → no prediction      | 600       |

Asha: predicted = today + ceil(7 × 240 / 45) = +38 days = 28 Dec. Weekly paces are
[0, 60, 0, 0, 60, 0, 120, 120]: spread = pstdev = √2475 ≈ 49.75, so earliest = today +
ceil(7 × 240 / 94.75) = +18 days = 8 Dec, latest = today + ceil(7 × 240 / max(−4.75, 22.5))
= +75 days = 3 Feb 2027.
"""

from datetime import UTC, date, datetime

import pytest

from app.academics.models import Batch, BatchMembership, Student, Subject, Topic
from app.analytics import learning
from app.attendance import service as attendance
from app.attendance.models import AttendanceRecord, ClassSession, TopicProgress
from app.core import clock
from app.core.errors import PermissionDenied
from app.core.roles import Role
from tests import factories as f
from tests.pages.apptest import app_as, open_page

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
TODAY = date(2026, 11, 20)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(db):
    inst = f.institute(db, timezone="UTC")
    admin = f.user(db, inst, Role.ADMIN)
    teacher = f.user(db, inst, Role.TEACHER, name="Tara")
    other = f.user(db, inst, Role.TEACHER, name="Omar")
    with db.scope(institute_id=inst.id) as s:
        subject = Subject(institute_id=inst.id, name="Maths")
        s.add(subject)
        s.flush()
        topics = [
            Topic(
                institute_id=inst.id,
                subject_id=subject.id,
                name=f"T{n + 1}",
                position=n,
                estimated_minutes=m,
                difficulty=1 + n,
            )
            for n, m in enumerate([60, 60, 120, 120, 240])
        ]
        batch = Batch(
            institute_id=inst.id, name="Maths A", subject_id=subject.id, teacher_user_id=teacher.id
        )
        s.add_all([*topics, batch])
        s.flush()
        students = {}
        for name in ("Asha", "Bala"):
            st = Student(institute_id=inst.id, enrollment_no=f"E-{name}", name=name)
            s.add(st)
            s.flush()
            s.add(
                BatchMembership(
                    institute_id=inst.id,
                    batch_id=batch.id,
                    student_id=st.id,
                    joined_on=date(2026, 6, 1),
                )
            )
            students[name] = st.id
        t = [x.id for x in topics]
        done = {
            "Asha": [
                (t[0], date(2026, 10, 5), 4.0, 2),
                (t[1], date(2026, 10, 27), 4.5, 3),
                (t[2], date(2026, 11, 10), 3.5, 4),
                (t[3], date(2026, 11, 18), 5.0, 2),
            ],
            "Bala": [(t[0], date(2026, 9, 1), 4.0, 6)],
        }
        for name, rows in done.items():
            for topic_id, day, competency, sessions in rows:
                s.add(
                    TopicProgress(
                        institute_id=inst.id,
                        student_id=students[name],
                        topic_id=topic_id,
                        competency=competency,
                        status="completed",
                        sessions_count=sessions,
                        completed_at=at(day),
                    )
                )
        s.add(
            TopicProgress(
                institute_id=inst.id,
                student_id=students["Bala"],
                topic_id=t[1],
                competency=2.0,
                status="in_progress",
                sessions_count=3,
            )
        )
        # Two classes by Tara in the range: 3 of 4 marks present or late.
        for n, marks in enumerate([("present", "absent"), ("late", "present")]):
            cs = ClassSession(
                institute_id=inst.id,
                batch_id=batch.id,
                date=date(2026, 11, 16 + n),
                starts_at=at(date(2026, 11, 16 + n)),
                ends_at=at(date(2026, 11, 16 + n)).replace(hour=10),
                status="closed",
            )
            s.add(cs)
            s.flush()
            for name, mark in zip(("Asha", "Bala"), marks, strict=True):
                s.add(
                    AttendanceRecord(
                        institute_id=inst.id,
                        session_id=cs.id,
                        student_id=students[name],
                        status=mark,
                    )
                )
    return {
        "inst": inst,
        "admin": f.actor_for(admin),
        "admin_user": admin,
        "teacher": f.actor_for(teacher),
        "other": f.actor_for(other),
        "batch": batch.id,
        "subject": subject.id,
        "students": students,
        "topics": t,
    }


def test_velocity_trend_and_predicted_completion_match_the_hand_table(db, world):
    with clock.frozen(NOW), db.scope(world["teacher"]) as s:
        rows = {
            r.student: r
            for r in learning.enrolments(s, actor=world["teacher"], batch_id=world["batch"])
        }
    asha, bala = rows["Asha"], rows["Bala"]
    assert (asha.completed, asha.topics, asha.velocity, asha.trend) == (4, 5, 0.5, 0.5)
    assert asha.remaining_minutes == 240
    assert (asha.predicted, asha.earliest, asha.latest) == (
        date(2026, 12, 28),
        date(2026, 12, 8),
        date(2027, 2, 3),
    )
    assert (bala.completed, bala.velocity, bala.predicted) == (1, 0.0, None)
    assert "no prediction" in bala.note


def test_timeline_counts_completions_per_week_with_a_running_total(db, world):
    with clock.frozen(NOW), db.scope(world["admin"]) as s:
        whole = learning.timeline(s, actor=world["admin"], batch_id=world["batch"])
        one = learning.timeline(
            s, actor=world["admin"], batch_id=world["batch"], student_id=world["students"]["Asha"]
        )
    assert [r["Total so far"] for r in whole] == [1, 2, 3, 4, 5]
    assert whole[0]["Week of"] == date(2026, 8, 31) and len(one) == 4


def test_topics_show_competency_completion_and_classes_needed(db, world):
    with db.scope(world["admin"]) as s:
        rows = {
            r["Topic"]: r
            for r in learning.topics(s, actor=world["admin"], subject_id=world["subject"])
        }
    assert rows["T1"]["Students"] == 2 and rows["T1"]["Classes to complete"] == 4.0
    assert rows["T2"]["Average competency"] == 3.25 and rows["T2"]["Completed %"] == 50.0
    assert rows["T5"]["Students"] == 0 and rows["T5"]["Average competency"] is None


def test_teachers_attendance_and_topics_completed_and_a_teacher_sees_only_self(db, world):
    with clock.frozen(NOW), db.scope(world["admin"]) as s:
        rows = {
            r["Teacher"]: r
            for r in learning.teachers(
                s, actor=world["admin"], start=date(2026, 11, 1), end=date(2026, 11, 20)
            )
        }
    assert rows["Tara"]["Classes"] == 2 and rows["Tara"]["Attendance %"] == 75.0
    assert rows["Tara"]["Topics completed"] == 2  # T3 on 10 Nov and T4 on 18 Nov
    assert rows["Omar"]["Classes"] == 0 and rows["Omar"]["Attendance %"] is None
    with clock.frozen(NOW), db.scope(world["other"]) as s:
        mine = learning.teachers(
            s, actor=world["other"], start=date(2026, 11, 1), end=date(2026, 11, 20)
        )
        assert [r["Teacher"] for r in mine] == ["Omar"]
        with pytest.raises(PermissionDenied):
            learning.enrolments(s, actor=world["other"], batch_id=world["batch"])


def test_a_test_result_marks_when_a_topic_was_first_completed(db, world):
    bala, topic = world["students"]["Bala"], world["topics"][2]
    with clock.frozen(NOW), db.scope(world["admin"]) as s:
        attendance.apply_assessment_internal(
            s, institute_id=world["inst"].id, topic_id=topic, percentages={bala: 90}
        )
    with clock.frozen(datetime(2026, 11, 25, tzinfo=UTC)), db.scope(world["admin"]) as s:
        attendance.apply_assessment_internal(
            s, institute_id=world["inst"].id, topic_id=topic, percentages={bala: 95}
        )
    with db.scope(world["admin"]) as s:
        row = s.exec(
            TopicProgress.__table__.select().where(
                TopicProgress.student_id == bala, TopicProgress.topic_id == topic
            )
        ).one()
    assert row.status in ("completed", "mastered") and row.completed_at.date() == TODAY


def test_learning_analytics_page_shows_the_batch(db, world):
    at_ = app_as(world["admin_user"].email).run()
    with clock.frozen(NOW):
        open_page(at_, "pages/common/learning_analytics.py")
        assert not at_.exception, at_.exception
        assert not at_.dataframe  # the charts show; their tables wait until someone opens them
        at_.session_state["la_enrolments_view"] = "Table"  # the chart's Table tab, clicked
        at_.run()
    assert not at_.exception, at_.exception
    [frame] = [d.value for d in at_.dataframe]
    assert "Predicted" in frame.columns and "Asha" in set(frame["Student"])
    assert [b.label for b in at_.get("download_button")] == ["Download CSV"]


def test_the_pace_chart_labels_every_student_and_says_its_units(db, world):
    """One row a student, every name labelled, the axis in topics a week, and the predicted
    date written on the bar (never "None" or "NaT")."""
    import json

    at_ = app_as(world["admin_user"].email).run()
    with clock.frozen(NOW):
        open_page(at_, "pages/common/learning_analytics.py")
    assert not at_.exception, at_.exception
    chart = next(c for c in at_.get("plotly_chart") if "la_enrolments" in str(c.proto.id))
    spec = json.loads(chart.proto.spec)
    [bar] = spec["data"]
    layout = spec["layout"]
    assert layout["xaxis"]["title"]["text"] == "Topics completed a week (last weeks)"
    assert layout["yaxis"]["type"] == "category" and layout["yaxis"]["dtick"] == 1
    assert len(bar["y"]) == len(set(bar["y"])) >= 2
    assert all(t == "" or t.startswith("done by ") for t in bar["text"])
