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
