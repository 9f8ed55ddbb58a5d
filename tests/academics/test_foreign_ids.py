"""Every id a caller passes for another row must belong to the actor's institute: a foreign key
alone accepts another institute's user (on PostgreSQL FK checks ignore RLS) (issue 18)."""

import pytest
from sqlmodel import select

from app.academics import service as academics
from app.academics.models import Batch, Student
from app.core.errors import ValidationError
from app.core.roles import Role
from tests import factories as f


@pytest.fixture
def two(db):
    home, away = f.institute(db), f.institute(db)
    admin = f.actor_for(f.user(db, home, Role.ADMIN))
    return {
        "admin": admin,
        "home_teacher": f.user(db, home, Role.TEACHER),
        "home_counselor": f.user(db, home, Role.COUNSELOR),
        "away_teacher": f.user(db, away, Role.TEACHER),
        "away_counselor": f.user(db, away, Role.COUNSELOR),
    }


def test_a_batch_cannot_get_another_institutes_teacher(db, two):
    admin = two["admin"]
    with db.scope(admin) as s:
        subject = academics.create_subject(s, actor=admin, name="Maths")
        batch = academics.create_batch(s, actor=admin, name="M1", subject_id=subject.id)
    with pytest.raises(ValidationError, match="teacher of this institute"), db.scope(admin) as s:
        academics.update_batch(
            s, actor=admin, batch_id=batch.id, teacher_user_id=two["away_teacher"].id
        )
    with pytest.raises(ValidationError, match="teacher of this institute"), db.scope(admin) as s:
        academics.update_batch(
            s, actor=admin, batch_id=batch.id, teacher_user_id=two["home_counselor"].id
        )
    with db.scope(admin) as s:
        academics.update_batch(
            s, actor=admin, batch_id=batch.id, teacher_user_id=two["home_teacher"].id
        )
    with db.scope(system=True) as s:
        assert s.get(Batch, batch.id).teacher_user_id == two["home_teacher"].id


def test_a_student_cannot_get_another_institutes_counselor(db, two):
    admin = two["admin"]
    with pytest.raises(ValidationError, match="counselor of this institute"), db.scope(admin) as s:
        academics.create_student(
            s,
            actor=admin,
            enrollment_no="S1",
            name="Asha",
            counselor_user_id=two["away_counselor"].id,
        )
    with db.scope(admin) as s:
        student = academics.create_student(
            s,
            actor=admin,
            enrollment_no="S1",
            name="Asha",
            counselor_user_id=two["home_counselor"].id,
        )
    with pytest.raises(ValidationError, match="counselor of this institute"), db.scope(admin) as s:
        academics.update_student(
            s, actor=admin, student_id=student.id, counselor_user_id=two["away_counselor"].id
        )
    with db.scope(system=True) as s:
        stored = s.exec(select(Student.counselor_user_id)).all()
    assert stored == [two["home_counselor"].id]


def test_a_teacher_reads_only_students_of_their_batches(db, two):
    from app.badges import credentials
    from app.badges import service as badges
    from app.core.errors import NotFound, PermissionDenied
    from app.notify import service as notify
    from tests.badges.world import build, catalog

    w = catalog(db, build(db, students=2))
    admin, teacher = w.admin_actor, w.teacher_actor
    with db.scope(admin) as s:
        subject = academics.create_subject(s, actor=admin, name="Other subject")
        other = academics.create_batch(s, actor=admin, name="Not theirs", subject_id=subject.id)
        outsider = academics.create_student(s, actor=admin, enrollment_no="OUT-1", name="Outsider")
        academics.join_batch(s, actor=admin, batch_id=other.id, student_id=outsider.id)
        academics.add_guardian(
            s, actor=admin, student_id=outsider.id, name="Mum", phone="9000000123"
        )
        award = badges.award(s, actor=admin, student_id=outsider.id, badge_id=w.b["M1"])[0]
    mine = w.students[0].id
    with db.scope(teacher) as s:
        assert academics.get_student(s, actor=teacher, student_id=mine).id == mine
        for call in (
            lambda: academics.get_student(s, actor=teacher, student_id=outsider.id),
            lambda: academics.guardians_of(s, actor=teacher, student_id=outsider.id),
            lambda: badges.wall(s, actor=teacher, student_id=outsider.id),
            lambda: credentials.credential_for(s, actor=teacher, award_id=award.id),
        ):
            with pytest.raises(NotFound):
                call()
    with db.scope(admin) as s:
        assert academics.guardians_of(s, actor=admin, student_id=outsider.id)
    student = w.student_actor(0)
    with pytest.raises(PermissionDenied), db.scope(student) as s:
        notify.list_announcements(s, actor=student)
