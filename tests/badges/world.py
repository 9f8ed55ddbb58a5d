"""A small badge world: an institute with staff, a batch with students, and a catalog tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from app.badges import service
from app.core.roles import Role
from tests import factories as f


@dataclass
class World:
    institute: object
    admin: object
    teacher: object
    other_teacher: object
    student_users: list
    students: list
    subject_id: int
    batch_id: int
    topic_ids: list[int]
    b: dict[str, int] = field(default_factory=dict)  # badge ids by short name

    @property
    def admin_actor(self):
        return f.actor_for(self.admin)

    @property
    def teacher_actor(self):
        return f.actor_for(self.teacher)

    def student_actor(self, n: int = 0):
        return f.actor_for(self.student_users[n])


def build(db, *, students: int = 3) -> World:
    inst = f.institute(db)
    admin = f.user(db, inst, Role.ADMIN)
    teacher = f.user(db, inst, Role.TEACHER)
    other_teacher = f.user(db, inst, Role.TEACHER)
    users = [
        f.user(db, inst, Role.STUDENT, email=f"pupil{n}.{inst.id}@example.com")
        for n in range(students)
    ]
    subject = f.subject(db, inst, name="Mathematics")
    topics = f.topics(db, inst, subject.id, 3)
    batch = f.batch(db, inst, subject_id=subject.id, teacher=teacher, name="Maths A")
    rows = []
    for n, u in enumerate(users):
        st = f.student(
            db,
            inst,
            user=u,
            enrollment_no=f"ADM-{n:03d}",
            name=f"Pupil {n}",
            email=u.email,
            phone=f"+9198765432{n:02d}",
        )
        f.member(db, inst, batch.id, st.id, joined_on=date(2026, 1, 1))
        rows.append(st)
    return World(
        institute=inst,
        admin=admin,
        teacher=teacher,
        other_teacher=other_teacher,
        student_users=users,
        students=rows,
        subject_id=subject.id,
        batch_id=batch.id,
        topic_ids=[t.id for t in topics],
    )


def catalog(db, w: World) -> World:
    """Program P: skills S1 (minis M1, M2 required, M3 optional) and S2 (mini M4), capstone C."""
    a = w.admin_actor
    with db.scope(a) as s:
        p = service.create_badge(s, actor=a, kind="program", name="Data Literacy", criteria="All.")
        s1 = service.create_badge(s, actor=a, kind="skill", name="Statistics", parent_id=p.id)
        s2 = service.create_badge(s, actor=a, kind="skill", name="Charts", parent_id=p.id)
        m1 = service.create_badge(s, actor=a, kind="mini", name="Mean", parent_id=s1.id)
        m2 = service.create_badge(s, actor=a, kind="mini", name="Median", parent_id=s1.id)
        m3 = service.create_badge(
            s, actor=a, kind="mini", name="Mode", parent_id=s1.id, required=False
        )
        m4 = service.create_badge(s, actor=a, kind="mini", name="Bar charts", parent_id=s2.id)
        c = service.create_badge(
            s,
            actor=a,
            kind="capstone",
            name="Survey project",
            parent_id=p.id,
            criteria="Run a survey and present it.",
        )
        w.b = {"P": p.id, "S1": s1.id, "S2": s2.id, "M1": m1.id, "M2": m2.id, "M3": m3.id}
        w.b.update({"M4": m4.id, "C": c.id})
    return w
