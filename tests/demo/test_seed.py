"""The demo generator: every role, a year of classes, believable attendance, deterministic."""

from sqlmodel import func, select

from app.academics.models import Batch, Guardian, Student
from app.attendance.models import AttendanceRecord, ClassSession, TopicProgress
from app.core.roles import Role
from app.demo.seed import seed_demo
from app.identity.models import User


def test_small_demo_has_people_and_a_year_of_history(db):
    result = seed_demo(size="small", engine=db.engine)
    first = result.institute_ids[0]
    with db.scope(system=True) as s:

        def count(model, *where):
            return s.exec(select(func.count()).select_from(model).where(*where)).one()

        students = count(User, User.institute_id == first, User.role == Role.STUDENT.value)
        assert count(Student, Student.institute_id == first) == students == 40
        assert count(Guardian, Guardian.institute_id == first) == 40
        assert count(Batch, Batch.institute_id == first) >= 2
        sessions = count(ClassSession, ClassSession.institute_id == first)
        assert sessions > 300  # three classes a week per batch for a year
        marks = dict(
            s.exec(
                select(AttendanceRecord.status, func.count())
                .where(AttendanceRecord.institute_id == first)
                .group_by(AttendanceRecord.status)
            ).all()
        )
        total = sum(marks.values())
        assert 0.75 < marks["present"] / total < 0.95 and marks["absent"] > 0
        assert count(TopicProgress, TopicProgress.institute_id == first) > 0
        assert count(ClassSession, ClassSession.status == "missed") > 0
    again = {k: len(v) for k, v in result.users_by_institute[first].items()}
    assert again[Role.TEACHER.value] == 4 and again[Role.ADMIN.value] == 1


def test_demo_enrolments_follow_every_membership(db):
    """Every current membership's (student, subject) has an enrolment with the batch's teacher
    and a completion from the topics done; one is paused and one completed (issue 22)."""
    from app.academics.models import BatchMembership, Enrollment
    from app.attendance.service import enrolment_completion_internal

    result = seed_demo(size="small", engine=db.engine)
    first = result.institute_ids[0]
    with db.scope(system=True) as s:
        members = set(
            s.exec(
                select(BatchMembership.student_id, Batch.subject_id)
                .join(Batch, Batch.id == BatchMembership.batch_id)
                .where(BatchMembership.institute_id == first)
            ).all()
        )
        enrolments = list(s.exec(select(Enrollment).where(Enrollment.institute_id == first)))
        assert {(e.student_id, e.subject_id) for e in enrolments} == members
        statuses = [e.status for e in enrolments]
        assert statuses.count("paused") == 1 and statuses.count("completed") == 1
        assert all(e.teacher_user_id for e in enrolments)
        assert any(e.completion_pct > 0 for e in enrolments)
    # The seeded figures are what the daily job computes.
    with db.scope(institute_id=first) as s:
        assert enrolment_completion_internal(s, institute_id=first) == 0
