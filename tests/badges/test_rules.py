"""Automatic rules award exactly the students who meet them (data built with the models)."""

from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from app.attendance.models import AttendanceRecord, ClassSession, TopicProgress
from app.badges import service
from app.badges.jobs import badge_rules
from app.badges.models import BadgeAward
from app.badges.rules import evaluate_rules_internal
from app.coursework.models import Assessment, AssessmentResult
from tests.badges.world import build


def test_each_rule_kind_awards_exactly_who_meets_it_with_progression(db):
    w = build(db, students=4)
    a = w.admin_actor
    t0, t1, _ = w.topic_ids
    with db.scope(a) as s:
        p = service.create_badge(s, actor=a, kind="program", name="Maths")
        sk = service.create_badge(s, actor=a, kind="skill", name="Algebra", parent_id=p.id)
        comp = service.create_badge(
            s,
            actor=a,
            kind="mini",
            name="Competent",
            parent_id=sk.id,
            rule={"kind": "topic_competency", "threshold": 4, "topic_ids": [t0, t1]},
        )
        test = service.create_badge(
            s,
            actor=a,
            kind="mini",
            name="Scorer",
            parent_id=sk.id,
            rule={"kind": "assessment_percent", "threshold": 75, "subject_id": w.subject_id},
        )
        present = service.create_badge(
            s,
            actor=a,
            kind="capstone",
            name="Regular",
            parent_id=p.id,
            rule={"kind": "attendance_percent", "threshold": 80, "batch_id": w.batch_id},
        )
        ids = dict(comp=comp.id, test=test.id, present=present.id, skill=sk.id, program=p.id)
    s0, s1, s2, s3 = (x.id for x in w.students)
    inst = w.institute.id
    with db.scope(institute_id=inst) as s:
        # competency: s0 and s1 meet both topics; s2 only one; s3 has 3.9 on one
        for sid, levels in {s0: (4, 5), s1: (4.5, 4), s2: (5, 1), s3: (3.9, 5)}.items():
            for topic, level in zip((t0, t1), levels, strict=True):
                s.add(
                    TopicProgress(
                        institute_id=inst, student_id=sid, topic_id=topic, competency=level
                    )
                )
        # assessments: averages s0 80, s1 70, s2 75 (exact), s3 absent
        exams = [
            Assessment(
                institute_id=inst,
                batch_id=w.batch_id,
                subject_id=w.subject_id,
                kind="quiz",
                title=f"Q{n}",
                max_marks=50,
                held_on=date(2026, 3, n + 1),
            )
            for n in range(2)
        ]
        s.add_all(exams)
        s.flush()
        marks = {s0: (40, 40), s1: (35, 35), s2: (30, 45), s3: (None, None)}
        for sid, pair in marks.items():
            for exam, m in zip(exams, pair, strict=True):
                s.add(
                    AssessmentResult(
                        institute_id=inst,
                        assessment_id=exam.id,
                        student_id=sid,
                        marks=m,
                        absent=m is None,
                    )
                )
        # attendance over 5 closed sessions: s0 5/5, s1 4/5 (80%), s2 3/5, s3 4 + 1 excused
        start = datetime(2026, 3, 1, 9, tzinfo=UTC)
        sessions = [
            ClassSession(
                institute_id=inst,
                batch_id=w.batch_id,
                date=(start + timedelta(days=n)).date(),
                starts_at=start + timedelta(days=n),
                ends_at=start + timedelta(days=n, hours=1),
                status="closed",
            )
            for n in range(5)
        ]
        s.add_all(sessions)
        s.flush()
        pattern = {s0: "PPPPP", s1: "PPPPA", s2: "PPAAL"[:2] + "AAA", s3: "PPPLE"}
        codes = {"P": "present", "A": "absent", "L": "late", "E": "excused"}
        for sid, marks_ in pattern.items():
            for session_, code in zip(sessions, marks_, strict=True):
                s.add(
                    AttendanceRecord(
                        institute_id=inst,
                        session_id=session_.id,
                        student_id=sid,
                        status=codes[code],
                    )
                )
    with db.scope(institute_id=inst) as s:
        counts = evaluate_rules_internal(s, institute_id=inst)
    with db.scope(institute_id=inst) as s:
        got = {(a.student_id, a.badge_id) for a in s.exec(select(BadgeAward))}
    expect = {
        (s0, ids["comp"]),
        (s1, ids["comp"]),
        (s0, ids["test"]),
        (s2, ids["test"]),
        (s0, ids["present"]),
        (s1, ids["present"]),
        (s3, ids["present"]),
        (s0, ids["skill"]),
        (s0, ids["program"]),  # only s0 completes the tree
    }
    assert got == expect
    assert counts["rule_awards"] == 7 and counts["progression_awards"] == 2
    # the daily job repeats safely
    assert badge_rules(engine=db.engine)["rule_awards"] == 0
    with db.scope(institute_id=inst) as s:
        assert len(s.exec(select(BadgeAward)).all()) == len(expect)


def test_taking_attendance_and_entering_marks_award_at_once_for_that_class(db):
    from app.attendance import service as attendance
    from app.core import clock
    from app.coursework import service as coursework

    w = build(db, students=3)
    a, t = w.admin_actor, w.teacher_actor
    with db.scope(a) as s:
        p = service.create_badge(s, actor=a, kind="program", name="Maths")
        sk = service.create_badge(s, actor=a, kind="skill", name="Habits", parent_id=p.id)
        regular = service.create_badge(
            s,
            actor=a,
            kind="mini",
            name="Always there",
            parent_id=sk.id,
            rule={"kind": "attendance_percent", "threshold": 100, "batch_id": w.batch_id},
        ).id
        scorer = service.create_badge(
            s,
            actor=a,
            kind="mini",
            name="Scorer",
            parent_id=sk.id,
            rule={"kind": "assessment_percent", "threshold": 75, "subject_id": w.subject_id},
        ).id
    s0, s1, s2 = (x.id for x in w.students)
    start = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)
    with db.scope(institute_id=w.institute.id) as s:
        row = ClassSession(
            institute_id=w.institute.id,
            batch_id=w.batch_id,
            date=start.date(),
            starts_at=start,
            ends_at=start + timedelta(hours=1),
        )
        s.add(row)
        s.flush()
        session_id = row.id

    def awarded():
        with db.scope(institute_id=w.institute.id) as s:
            return {(x.student_id, x.badge_id) for x in s.exec(select(BadgeAward))}

    with clock.frozen(start + timedelta(minutes=20)), db.scope(t, immediate=True) as s:
        attendance.submit_attendance(
            s, actor=t, session_id=session_id, marks={s2: "absent"}, expected_version=0
        )
    # No night job needed: the two present students have 100% the moment the sheet is saved.
    assert awarded() == {(s0, regular), (s1, regular)}
    with clock.frozen(start + timedelta(days=1)), db.scope(t) as s:
        quiz = coursework.create_assessment(
            s,
            actor=t,
            batch_id=w.batch_id,
            kind="quiz",
            title="Quiz 1",
            max_marks=20,
            held_on=start.date() + timedelta(days=1),
        ).id
        coursework.enter_marks(
            s,
            actor=t,
            assessment_id=quiz,
            rows=[
                {"student_id": s0, "marks": 18},
                {"student_id": s1, "marks": 10},
                {"student_id": s2, "marks": 15},
            ],
        )
    # s0 now holds both minis of the skill: the skill follows in the same transaction. The
    # program has no capstone yet, so completing its only skill does not complete it.
    assert awarded() == {
        (s0, regular),
        (s1, regular),
        (s0, scorer),
        (s2, scorer),
        (s0, sk.id),
    }
