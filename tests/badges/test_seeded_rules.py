"""In the seeded demo, automatic rules award exactly the students who meet them, and progression
follows: computed here independently from the raw rows."""

from collections import defaultdict
from datetime import UTC, datetime

from sqlmodel import select

from app.academics.models import Student
from app.attendance.models import AttendanceRecord, ClassSession, TopicProgress
from app.badges.models import Badge, BadgeAward
from app.core import clock
from app.coursework.models import Assessment, AssessmentResult
from app.demo.seed import seed_demo

# Late in a term: the demo's batches teach their syllabus in order over the term, so in its first
# weeks nobody has reached the second topic (which a mini-badge here needs) yet.
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


def test_seeded_rules_award_exactly_who_qualifies(db):
    with clock.frozen(NOW):
        result = seed_demo(size="small", engine=db.engine)
    institute_id = result.institute_ids[0]
    with db.scope(institute_id=institute_id) as s:
        catalog = {
            b.name: b for b in s.exec(select(Badge).where(Badge.institute_id == institute_id))
        }
        awarded = defaultdict(set)
        for a in s.exec(select(BadgeAward).where(BadgeAward.institute_id == institute_id)):
            awarded[a.badge_id].add(a.student_id)
        progress = s.exec(select(TopicProgress)).all()
        students = len(s.exec(select(Student.id)).all())
        marks = s.exec(
            select(AttendanceRecord.student_id, ClassSession.batch_id, AttendanceRecord.status)
            .join(ClassSession, ClassSession.id == AttendanceRecord.session_id)
            .where(ClassSession.status.in_(["submitted", "closed"]))
        ).all()
        results = s.exec(
            select(AssessmentResult.student_id, Assessment.subject_id, AssessmentResult.percentage)
            .join(Assessment, Assessment.id == AssessmentResult.assessment_id)
            .where(AssessmentResult.absent.is_(False), AssessmentResult.percentage.is_not(None))
        ).all()

    rules = [b for b in catalog.values() if b.rule_kind]
    assert {b.rule_kind for b in rules} == {
        "topic_competency",
        "attendance_percent",
        "assessment_percent",
    }
    for badge in rules:
        if badge.rule_kind == "topic_competency":
            expected = {
                p.student_id
                for p in progress
                if p.topic_id in badge.rule_topic_ids and p.competency >= badge.rule_threshold
            }
        elif badge.rule_kind == "attendance_percent":
            seen, present = defaultdict(int), defaultdict(int)
            for student_id, batch_id, status in marks:
                if batch_id == badge.rule_batch_id and status != "excused":
                    seen[student_id] += 1
                    present[student_id] += status in ("present", "late")
            expected = {
                sid for sid in seen if 100 * present[sid] / seen[sid] >= badge.rule_threshold
            }
        else:
            scores = defaultdict(list)
            for student_id, subject_id, percentage in results:
                if subject_id == badge.rule_subject_id:
                    scores[student_id].append(percentage)
            expected = {sid for sid, p in scores.items() if sum(p) / len(p) >= badge.rule_threshold}
        assert expected, f"the demo should have someone who earns {badge.name}"
        assert len(expected) < students, "not everyone should qualify"
        assert awarded[badge.id] == expected, badge.name

    # Progression: a skill for every student holding all its minis; the program for those with
    # both skills and the capstone (given by hand to a few).
    for skill in (b for b in catalog.values() if b.kind == "skill"):
        minis = [b.id for b in catalog.values() if b.parent_id == skill.id]
        assert awarded[skill.id] == set.intersection(*(awarded[m] for m in minis))
    program = next(b for b in catalog.values() if b.kind == "program")
    parts = [b.id for b in catalog.values() if b.parent_id == program.id]
    assert awarded[program.id] == set.intersection(*(awarded[p] for p in parts))
    assert awarded[program.id]
