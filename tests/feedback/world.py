"""A small feedback world: an institute with an admin, two teachers (each with a batch and a
session two days ago), and students in the first teacher's batch (the last one also in the second's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from app.academics.models import Batch
from app.attendance.models import ClassSession
from app.core import clock
from app.core.roles import Role
from tests import factories as f

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@dataclass
class World:
    institute: object
    admin: object
    teacher: object
    other_teacher: object
    student_users: list
    students: list
    subject_id: int
    other_subject_id: int
    batch_id: int
    other_batch_id: int
    session_id: int  # the teacher's maths session, two days ago
    other_session_id: int  # the other teacher's physics session, two days ago
    old_session_id: int  # a maths session a month ago (too old to rate)

    @property
    def admin_actor(self):
        return f.actor_for(self.admin)

    @property
    def teacher_actor(self):
        return f.actor_for(self.teacher)

    @property
    def other_teacher_actor(self):
        return f.actor_for(self.other_teacher)

    def student_actor(self, n: int = 0):
        return f.actor_for(self.student_users[n])


def build(db, *, students: int = 3) -> World:
    inst = f.institute(db, timezone="UTC")
    admin = f.user(db, inst, Role.ADMIN, name="Asha Admin")
    teacher = f.user(db, inst, Role.TEACHER, name="Tara Teacher")
    other_teacher = f.user(db, inst, Role.TEACHER, name="Omar Other")
    users = [
        f.user(db, inst, Role.STUDENT, email=f"kid{n}.{inst.id}@example.com")
        for n in range(students)
    ]
    maths = f.subject(db, inst, name="Mathematics")
    physics = f.subject(db, inst, name="Physics")
    batch = f.batch(db, inst, subject_id=maths.id, teacher=teacher, name="Maths A")
    other = f.batch(db, inst, subject_id=physics.id, teacher=other_teacher, name="Physics B")
    rows = []
    for n, u in enumerate(users):
        st = f.student(
            db, inst, user=u, enrollment_no=f"FB-{n:03d}", name=f"Kid {n}", email=u.email
        )
        f.member(db, inst, batch.id, st.id, joined_on=date(2026, 1, 1))
        rows.append(st)
    f.member(db, inst, other.id, rows[-1].id, joined_on=date(2026, 1, 1))
    with db.scope(institute_id=inst.id) as s:

        def session_on(b: Batch, when: datetime) -> ClassSession:
            cs = ClassSession(
                institute_id=inst.id,
                batch_id=b.id,
                date=when.date(),
                starts_at=when,
                ends_at=when + timedelta(hours=1),
                status="closed",
            )
            s.add(cs)
            s.flush()
            return cs

        recent = session_on(batch, NOW - timedelta(days=2))
        other_recent = session_on(other, NOW - timedelta(days=2))
        old = session_on(batch, NOW - timedelta(days=30))
        return World(
            institute=inst,
            admin=admin,
            teacher=teacher,
            other_teacher=other_teacher,
            student_users=users,
            students=rows,
            subject_id=maths.id,
            other_subject_id=physics.id,
            batch_id=batch.id,
            other_batch_id=other.id,
            session_id=recent.id,
            other_session_id=other_recent.id,
            old_session_id=old.id,
        )


def frozen_now():
    return clock.frozen(NOW)
