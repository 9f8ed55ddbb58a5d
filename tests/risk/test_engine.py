"""The risk engine against a table computed by hand.

Today is 20 Nov 2026 (Asia/Kolkata); the window is the 30 days 22 Oct – 20 Nov. Default weights
attendance 40, homework 30, fees 20, tests 10; LOW ≥ 75, MEDIUM ≥ 50, HIGH below. Ten classes are
taken in the window (plus one older, outside it); four homework fall due in the window before
today (plus one due today and one older, neither counted).

| student          | attendance    | homework   | fees                          | tests          | score                                      | level  | why                         |
|------------------|---------------|------------|-------------------------------|----------------|--------------------------------------------|--------|-----------------------------|
| Asha (all good)  | 10/10 = 100   | 4/4 = 100  | billed, not due = 100         | 96,90,84 → 90  | (4000+3000+2000+900)/100 = 99              | LOW    | old absence not counted     |
| Bala (no tests)  | 8/10 = 80     | 2/4 = 50   | billed, not due = 100         | —              | (3200+1500+2000)/90 = 74.44                | MEDIUM | rescaled; 80% is no flag    |
| Chen             | —             | —          | —                             | 74.99          | 74.99                                      | MEDIUM | edge                        |
| Dev              | —             | —          | —                             | 75             | 75                                         | LOW    | edge                        |
| Esi              | —             | —          | —                             | 49.99          | 49.99                                      | HIGH   | edge (one test: no flag)    |
| Femi             | —             | —          | —                             | 50             | 50                                         | MEDIUM | edge                        |
| Gita (att. flag) | 7/10 = 70     | 4/4 = 100  | —                             | 100            | (2800+3000+1000)/80 = 85                   | MEDIUM | LOW raised by flag          |
| Hari (fee flag)  | 10/10 = 100   | 4/4 = 100  | 70 days, all owed: 100−60−40=0| 100            | (4000+3000+0+1000)/100 = 80                | MEDIUM | LOW raised by flag          |
| Ines (tests flag)| 10/10 = 100   | 4/4 = 100  | —                             | 30, 35 → 32.5  | (4000+3000+325)/80 = 91.56                 | MEDIUM | failed last two; older 100  |
| Jo (no data)     | —             | —          | —                             | —              | none                                       | LOW    | not enough data             |
| Kofi (slipping)  | 4/10 = 40     | 1/4 = 25   | ₹600 of ₹1,000 owed, 10 days: 100−10−24=66 | 45 | (1600+750+1320+450)/100 = 41.2     | HIGH   | attendance flag too         |
| Lena (late/exc.) | 5 present + 3 late of 8 (2 excused) = 100 | 3/4 = 75 | — | —   | (4000+2250)/70 = 89.29                     | LOW    | excused not counted         |
"""

import gc
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.academics import service as academics
from app.attendance.models import AttendanceRecord, ClassSession
from app.core import clock
from app.coursework.models import Assessment, AssessmentResult, Homework, HomeworkSubmission
from app.fees import service as fees
from app.inbox.models import PendingAction
from app.models import metadata
from app.risk import engine, jobs
from app.risk import service as risk
from app.risk.models import StudentRiskEvent, StudentRiskProfile
from tests import factories as f

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # 09:30 in Kolkata
TODAY = date(2026, 11, 20)
NAMES = ["Asha", "Bala", "Chen", "Dev", "Esi", "Femi", "Gita", "Hari", "Ines", "Jo", "Kofi", "Lena"]

EXPECTED = {
    "Asha": (99.0, "LOW", []),
    "Bala": (74.44, "MEDIUM", []),
    "Chen": (74.99, "MEDIUM", []),
    "Dev": (75.0, "LOW", []),
    "Esi": (49.99, "HIGH", []),
    "Femi": (50.0, "MEDIUM", []),
    "Gita": (85.0, "MEDIUM", ["attendance"]),
    "Hari": (80.0, "MEDIUM", ["fees"]),
    "Ines": (91.56, "MEDIUM", ["tests"]),
    "Jo": (None, "LOW", []),
    "Kofi": (41.2, "HIGH", ["attendance"]),
    "Lena": (89.29, "LOW", []),
}
SUBSCORES = {
    "Asha": (100, 100, 100, 90),
    "Bala": (80, 50, 100, None),
    "Gita": (70, 100, None, 100),
    "Hari": (100, 100, 0, 100),
    "Ines": (100, 100, None, 32.5),
    "Kofi": (40, 25, 66, 45),
    "Lena": (100, 75, None, None),
}


def build(db):
    """The institute of the table above; returns (institute, admin actor, ids by name)."""
    inst = f.institute(db, name="Risk Institute")
    admin_user = f.user(db, inst, "admin")
    admin = f.actor_for(admin_user)
    with clock.frozen(NOW), db.scope(admin) as s:
        ids = {
            n: academics.create_student(s, actor=admin, enrollment_no=f"R-{n}", name=n).id
            for n in NAMES
        }
        subject = academics.create_subject(s, actor=admin, name="Maths")
        batch = academics.create_batch(s, actor=admin, name="Maths A", subject_id=subject.id)
        for n in NAMES:
            academics.join_batch(s, actor=admin, batch_id=batch.id, student_id=ids[n])

        def session_on(day):
            start = datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)
            cs = ClassSession(
                institute_id=inst.id,
                batch_id=batch.id,
                date=day,
                starts_at=start,
                ends_at=start + timedelta(hours=1),
                status="submitted",
            )
            s.add(cs)
            s.flush()
            return cs.id

        sessions = [session_on(TODAY - timedelta(days=2 * k)) for k in range(10)]  # 20 Nov … 2 Nov
        old = session_on(TODAY - timedelta(days=35))
        attendance = {
            "Asha": ["present"] * 10,
            "Bala": ["present"] * 8 + ["absent"] * 2,
            "Gita": ["present"] * 7 + ["absent"] * 3,
            "Hari": ["present"] * 10,
            "Ines": ["late"] * 10,
            "Kofi": ["present"] * 4 + ["absent"] * 6,
            "Lena": ["present"] * 5 + ["late"] * 3 + ["excused"] * 2,
        }
        for n, marks in attendance.items():
            for sid, mark in zip(sessions, marks, strict=True):
                s.add(
                    AttendanceRecord(
                        institute_id=inst.id, session_id=sid, student_id=ids[n], status=mark
                    )
                )
        s.add(
            AttendanceRecord(
                institute_id=inst.id, session_id=old, student_id=ids["Asha"], status="absent"
            )
        )

        def homework(due, on_time_by_name):
            hw = Homework(
                institute_id=inst.id,
                batch_id=batch.id,
                title=f"HW {due}",
                assigned_on=due - timedelta(days=3),
                due_on=due,
            )
            s.add(hw)
            s.flush()
            for n, on_time in on_time_by_name.items():
                s.add(
                    HomeworkSubmission(
                        institute_id=inst.id,
                        homework_id=hw.id,
                        student_id=ids[n],
                        status="submitted" if on_time else "missing",
                        on_time=on_time,
                    )
                )

        on_time = {
            "Asha": [True] * 4,
            "Bala": [True, True, False, False],
            "Gita": [True] * 4,
            "Hari": [True] * 4,
            "Ines": [True] * 4,
            "Kofi": [True, False, False, False],
            "Lena": [True, True, True, False],
        }
        for k, due in enumerate([TODAY - timedelta(days=d) for d in (1, 8, 15, 22)]):
            homework(due, {n: flags[k] for n, flags in on_time.items()})
        homework(TODAY, {n: False for n in on_time})  # due today: not yet counted
        homework(TODAY - timedelta(days=40), {n: False for n in on_time})  # outside the window

        def test(held, percentages):
            a = Assessment(
                institute_id=inst.id,
                batch_id=batch.id,
                kind="quiz",
                title=f"Quiz {held}",
                max_marks=100,
                held_on=held,
            )
            s.add(a)
            s.flush()
            for n, p in percentages.items():
                s.add(
                    AssessmentResult(
                        institute_id=inst.id,
                        assessment_id=a.id,
                        student_id=ids[n],
                        marks=p,
                        percentage=p,
                        grade="X",
                    )
                )

        test(TODAY - timedelta(days=50), {"Ines": 100})  # old pass: outside the window
        test(TODAY - timedelta(days=20), {"Asha": 96})
        test(
            TODAY - timedelta(days=10),
            {"Asha": 90, "Chen": 74.99, "Dev": 75, "Esi": 49.99, "Femi": 50, "Gita": 100}
            | {"Hari": 100, "Ines": 30, "Kofi": 45},
        )
        test(TODAY - timedelta(days=5), {"Ines": 35, "Asha": 84})

        term = fees.create_structure(
            s, actor=admin, name="Term", items=[{"name": "Tuition", "amount_minor": 600_00}]
        )
        lab = fees.create_structure(
            s, actor=admin, name="Lab", items=[{"name": "Lab", "amount_minor": 400_00}]
        )
        for who, structure, issued in [
            (["Asha", "Bala"], term.id, TODAY - timedelta(days=5)),  # due in 9 days
            (["Hari"], term.id, TODAY - timedelta(days=84)),  # due 70 days ago
            (["Kofi"], term.id, TODAY - timedelta(days=24)),  # due 10 days ago
            (["Kofi"], lab.id, TODAY - timedelta(days=2)),  # not yet due
        ]:
            fees.invoice_run(
                s,
                actor=admin,
                structure_id=structure,
                period="2026-T3",
                student_ids=[ids[n] for n in who],
                issued_on=issued,
            )
    return inst, admin, ids


def test_engine_matches_the_hand_computed_table(db):
    inst, admin, ids = build(db)
    with clock.frozen(NOW), db.scope(institute_id=inst.id) as s:
        result = engine.recompute_institute_internal(s, institute_id=inst.id)
    assert result.students == 12
    with db.scope(admin) as s:
        rows = {r.name: r for r in risk.list_profiles(s, actor=admin)}
    got = {n: (rows[n].score, rows[n].level, rows[n].flags) for n in NAMES}
    assert got == EXPECTED
    for n, expected in SUBSCORES.items():
        r = rows[n]
        assert (r.attendance, r.homework, r.fees, r.tests) == expected, n
    # Riskiest first; students with no score last.
    assert [r.name for r in rows.values()][:2] == ["Kofi", "Esi"]
    assert list(rows)[-1] == "Jo"

    # The reasons say what counted, what did not, and name the critical flags first.
    assert rows["Bala"].reasons[-1] == (
        "Score from attendance, homework, fees only; their weights are rescaled to add up to 100%."
    )
    assert "No tests in the last 30 days: tests not counted." in rows["Bala"].reasons
    assert rows["Gita"].reasons[0] == "Critical: attendance 70% is below 80%."
    assert rows["Hari"].reasons[0] == (
        "Critical: fees of ₹600.00 overdue for 70 days (more than 60)."
    )
    assert rows["Ines"].reasons[0] == (
        "Critical: failed the last two tests (35%, 30%; pass mark 40%)."
    )
    assert "Fees: ₹600.00 overdue for 10 days (fees score 66%)." in rows["Kofi"].reasons
    assert "Attendance: present or late at 8 of 8 sessions (100%)." in rows["Lena"].reasons
    assert rows["Jo"].reasons[0] == "Not enough data yet to score."
    assert "No fees billed: fees not counted." in rows["Jo"].reasons


def test_transitions_into_high_open_one_action_and_recovering_opens_none(db):
    inst, admin, ids = build(db)
    with clock.frozen(NOW):
        jobs.student_risk_recompute(engine=db.engine)
    with db.scope(system=True) as s:
        actions = s.exec(select(PendingAction).where(PendingAction.type == "student_risk")).all()
        first_events = s.exec(select(func.count()).select_from(StudentRiskEvent)).one()
    # The first pass records every student's level; Esi and Kofi enter HIGH: one action each.
    assert first_events == 12
    assert sorted(a.student_id for a in actions) == sorted([ids["Esi"], ids["Kofi"]])
    assert all(a.batch_id for a in actions) and "HIGH risk" in actions[0].reason

    with clock.frozen(NOW + timedelta(hours=1)):  # nothing changed: nothing written at all
        again = jobs.student_risk_recompute(engine=db.engine)
    assert (again["events"], again["actions"], again["written"]) == (0, 0, 0)

    # Raising the HIGH line to 60 moves only Femi (50) into HIGH; the preview says so first.
    with db.scope(admin) as s:
        preview = risk.preview_settings(s, actor=admin, changes={"medium_min": 60})
        assert (preview.changed, preview.after["HIGH"]) == (1, 3)
        risk.update_settings(s, actor=admin, changes={"medium_min": 60})
    with clock.frozen(NOW + timedelta(hours=2)):
        assert jobs.student_risk_recompute(engine=db.engine)["actions"] == 1
    with clock.frozen(NOW + timedelta(hours=3)):  # staying HIGH: nothing new
        assert jobs.student_risk_recompute(engine=db.engine) == {
            "institutes": 1,
            "students": 12,
            "events": 0,
            "actions": 0,
            "written": 0,
        }
    with db.scope(admin) as s:  # back to 50: Femi recovers to MEDIUM — an event, no action
        risk.update_settings(s, actor=admin, changes={"medium_min": 50})
    with clock.frozen(NOW + timedelta(hours=4)):
        out = jobs.student_risk_recompute(engine=db.engine)
    assert (out["events"], out["actions"]) == (1, 0)
    with db.scope(admin) as s:
        femi = risk.student_risk(s, actor=admin, student_id=ids["Femi"])
        n_actions = s.exec(
            select(func.count())
            .select_from(PendingAction)
            .where(PendingAction.type == "student_risk")
        ).one()
    assert [(e.from_level, e.to_level) for e in femi.events] == [
        ("HIGH", "MEDIUM"),
        ("MEDIUM", "HIGH"),
        (None, "MEDIUM"),
    ]
    assert n_actions == 3


def test_the_engine_writes_only_its_tables_and_the_inbox(db):
    inst, admin, ids = build(db)

    def counts():
        with db.scope(system=True) as s:
            return {
                t.name: s.exec(select(func.count()).select_from(t)).one()
                for t in metadata.sorted_tables
            }

    before = counts()
    with clock.frozen(NOW):
        jobs.student_risk_recompute(engine=db.engine)
    after = counts()
    changed = {t for t in before if before[t] != after[t]}
    assert changed == {"student_risk_profiles", "student_risk_events", "pending_actions"}
    assert after["student_risk_profiles"] == 12


def test_teachers_see_only_their_students_and_students_see_no_risk(db):
    inst, admin, ids = build(db)
    teacher_user = f.user(db, inst, "teacher")
    teacher = f.actor_for(teacher_user)
    student = f.actor_for(f.user(db, inst, "student"))
    with clock.frozen(NOW), db.scope(institute_id=inst.id) as s:
        engine.recompute_institute_internal(s, institute_id=inst.id)
    with db.scope(teacher) as s:
        assert risk.list_profiles(s, actor=teacher) == []  # not their batch
    with db.scope(admin) as s:
        physics = academics.create_subject(s, actor=admin, name="Physics")
        other_batch = academics.create_batch(
            s,
            actor=admin,
            name="Physics B",
            subject_id=physics.id,
            teacher_user_id=teacher_user.id,
        )
        academics.join_batch(s, actor=admin, batch_id=other_batch.id, student_id=ids["Kofi"])
    with db.scope(teacher) as s:
        assert [r.name for r in risk.list_profiles(s, actor=teacher)] == ["Kofi"]
    from app.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied), db.scope(student) as s:
        risk.list_profiles(s, actor=student)


def test_profiles_are_rewritten_not_duplicated(db):
    inst, admin, ids = build(db)
    for hours in range(2):
        with clock.frozen(NOW + timedelta(hours=hours)):
            jobs.student_risk_recompute(engine=db.engine)
    with db.scope(system=True) as s:
        assert s.exec(select(func.count()).select_from(StudentRiskProfile)).one() == 12


DIGEST_SCRIPT = """
from app.fees.reports import FeeStanding
from app.risk import engine
from app.risk.models import RiskSettings

inputs = engine.Inputs(
    students={1: "Asha", 2: "Jo"},
    facts={
        1: ((8, 10), None, FeeStanding(600_00, 600_00, 12), (45.5, 2), (30.0, 35.0)),
        2: (None, None, None, None, ()),
    },
    currency="INR",
)
print(",".join(r.digest for r in engine.assess(inputs, RiskSettings(institute_id=1))))
"""


def test_a_profile_fingerprint_is_the_same_in_every_process():
    # The daily job rewrites only profiles whose fingerprint changed; a fingerprint that
    # depended on the process (hash of None or of a string) would rewrite every row every day.
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    run = [sys.executable, "-c", DIGEST_SCRIPT]
    first = subprocess.run(run, cwd=root, capture_output=True, text=True, check=True).stdout
    second = subprocess.run(
        run, cwd=root, capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": "7"}
    ).stdout
    assert first == second and len(first.split(",")) == 2


def _profiles(db) -> dict:
    with db.scope(system=True) as s:
        return {
            p.student_id: (p.score, p.level, p.flags, p.reasons, p.digest)
            for p in s.exec(select(StudentRiskProfile))
        }


def test_the_daily_job_scores_in_parts_and_writes_what_one_pass_would(db, monkeypatch):
    # The job scores a big institute in parts on a thread while writing the part before (and on
    # PostgreSQL reads the attendance window on a second connection); the profiles, events and
    # actions are those of one institute read in one statement and scored at once.
    inst, admin, ids = build(db)
    with clock.frozen(NOW), db.scope(institute_id=inst.id) as s:
        whole = engine.recompute_institute_internal(s, institute_id=inst.id)
    at_once = _profiles(db)
    with db.scope(system=True) as s:
        s.exec(StudentRiskProfile.__table__.delete())
        s.exec(StudentRiskEvent.__table__.delete())
        s.exec(PendingAction.__table__.delete())
    monkeypatch.setattr(jobs, "PART", 5)  # 12 students: parts of 5, 5 and 2
    with clock.frozen(NOW):
        out = jobs.student_risk_recompute(engine=db.engine)
    assert _profiles(db) == at_once and len(at_once) == 12
    assert (out["written"], out["events"], out["actions"]) == (12, whole.events, whole.actions)
    assert gc.isenabled()  # the collector paused for the pass is back on


def test_a_part_that_fails_leaves_its_institute_unwritten(db, monkeypatch):
    inst, admin, ids = build(db)
    monkeypatch.setattr(jobs, "PART", 5)
    real = engine.score_students
    calls = []

    def second_part_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("scoring failed")
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "score_students", second_part_fails)
    from app.worker.registry import InstitutesFailed

    with clock.frozen(NOW), pytest.raises(InstitutesFailed, match="scoring failed"):
        jobs.student_risk_recompute(engine=db.engine)
    assert _profiles(db) == {}  # the first part's rows rolled back with the institute
    assert gc.isenabled()
