"""The demo's coursework: weekly homework with a submission per member in every status,
assessments whose results agree with their marks and the default grade scale, grade bands."""

from collections import Counter, defaultdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlmodel import func, select

from app.academics.models import BatchMembership
from app.core import clock
from app.coursework.models import (
    Assessment,
    AssessmentResult,
    GradeBand,
    Homework,
    HomeworkSubmission,
)
from app.demo.seed import seed_demo
from app.identity.models import Institute

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
SCALE = [("A+", 90), ("A", 80), ("B", 70), ("C", 60), ("D", 50), ("E", 40), ("F", 0)]


def _grade(percentage: float) -> str:
    return next(grade for grade, minimum in SCALE if percentage >= minimum)


def test_small_demo_has_homework_assessments_and_grade_bands(db):
    with clock.frozen(NOW):
        result = seed_demo(size="small", engine=db.engine)
    with db.scope(system=True) as s:
        today = {
            i.id: NOW.astimezone(ZoneInfo(i.timezone)).date() for i in s.exec(select(Institute))
        }
        members = Counter(
            s.exec(
                select(BatchMembership.batch_id).where(
                    BatchMembership.institute_id.in_(result.institute_ids)
                )
            ).all()
        )

        # Homework: about weekly for ten weeks per batch, one submission per member.
        homework = {h.id: h for h in s.exec(select(Homework))}
        per_batch = Counter(h.batch_id for h in homework.values())
        assert set(per_batch) == set(members)
        assert all(8 <= n <= 10 for n in per_batch.values()), per_batch
        submissions = s.exec(select(HomeworkSubmission)).all()
        assert Counter(x.homework_id for x in submissions) == {
            h.id: members[h.batch_id] for h in homework.values()
        }
        statuses = Counter(x.status for x in submissions)
        assert set(statuses) == {"assigned", "submitted", "late", "missing", "graded"}, statuses
        handed_in = statuses["submitted"] + statuses["graded"] + statuses["late"]
        assert handed_in > 3 * (statuses["late"] + statuses["missing"])  # mostly on time
        on_time_of = defaultdict(list)
        for x in submissions:
            h = homework[x.homework_id]
            past_due = h.due_on < today[h.institute_id]
            assert (x.status == "assigned") == (not past_due), (x, h)
            if x.status in ("assigned", "missing"):
                assert x.submitted_on is None and not x.on_time and x.marks is None
            else:
                assert h.assigned_on <= x.submitted_on <= today[h.institute_id]
                assert x.on_time == (x.submitted_on <= h.due_on)
                assert x.on_time == (x.status != "late") or x.status == "graded"
            if x.status == "graded":
                assert h.max_marks and 0 <= x.marks <= h.max_marks
            else:
                assert x.marks is None
            if past_due:
                on_time_of[x.student_id].append(x.on_time)
        shares = [sum(v) / len(v) for v in on_time_of.values()]
        weak = sum(share < 0.6 for share in shares)
        assert 0 < weak < 0.25 * len(shares)  # a minority is consistently behind

        # Assessments every two to three weeks, a result per member that matches its marks.
        assessments = {a.id: a for a in s.exec(select(Assessment))}
        assert 3 * len(members) <= len(assessments) <= 6 * len(members)
        assert {a.kind for a in assessments.values()} >= {"quiz", "assignment"}
        assert all(a.held_on < today[a.institute_id] for a in assessments.values())
        results = s.exec(select(AssessmentResult)).all()
        assert Counter(r.assessment_id for r in results) == {
            a.id: members[a.batch_id] for a in assessments.values()
        }
        absent = [r for r in results if r.absent]
        assert 0 < len(absent) < 0.1 * len(results)
        assert all(r.marks is None and r.percentage is None and r.grade is None for r in absent)
        grades = Counter()
        for r in results:
            if r.absent:
                continue
            max_marks = assessments[r.assessment_id].max_marks
            assert 0 <= r.marks <= max_marks
            assert r.percentage == round(r.marks / max_marks * 100, 2)
            assert r.grade == _grade(r.percentage)
            grades[r.grade] += 1
        assert {"A+", "B", "C"} <= set(grades) and grades["A+"] < grades["C"]

        # The default grade scale for every institute.
        for institute_id in result.institute_ids:
            bands = s.exec(
                select(GradeBand.grade, GradeBand.min_percent)
                .where(GradeBand.institute_id == institute_id)
                .order_by(GradeBand.min_percent.desc())
            ).all()
            assert [(g, float(m)) for g, m in bands] == [(g, float(m)) for g, m in SCALE]
        assert s.exec(select(func.count()).select_from(GradeBand)).one() == 7 * len(
            result.institute_ids
        )
    counts = result.history[result.institute_ids[0]]
    assert counts["homework"] and counts["submissions"] and counts["results"]
