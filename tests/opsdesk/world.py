"""A small desk world: one institute (INR, Asia/Kolkata) with an admin, a teacher and a
counselor; batches Math X (level X) and Physics XI (level XI), both the teacher's; three students
— two called Riya — a monthly fee structure, guardians, and a Math X class later today."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, time

from app.academics import service as academics
from app.attendance import service as attendance
from app.core import clock
from app.core.roles import Role
from app.fees import service as fees
from tests import factories as f

NOW = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)  # 09:30 in Kolkata; the Math X class is at 10:00
_n = itertools.count(1)


@dataclass
class World:
    institute: object
    admin: object  # Actors
    teacher: object
    counselor: object
    admin_email: str
    teacher_email: str
    math: int  # batch ids
    physics: int
    riya: int  # ADM-001 Riya Sharma: Math X
    riya_v: int  # ADM-002 Riya Verma: Physics XI
    aman: int  # ADM-003 Aman Gupta: Math X and Physics XI
    structure: int
    math_session: int


def build(db) -> World:
    n = next(_n)
    inst = f.institute(db, name=f"Desk Institute {n}")
    admin_user = f.user(db, inst, Role.ADMIN, email=f"admin{n}@desk.example", name="Asha Admin")
    teacher_user = f.user(db, inst, Role.TEACHER, email=f"teacher{n}@desk.example", name="Tom")
    counselor_user = f.user(db, inst, Role.COUNSELOR, name="Cara")
    admin, teacher = f.actor_for(admin_user), f.actor_for(teacher_user)
    with clock.frozen(NOW), db.scope(admin) as s:
        maths = academics.create_subject(s, actor=admin, name="Mathematics")
        physics = academics.create_subject(s, actor=admin, name="Physics")
        math = academics.create_batch(
            s,
            actor=admin,
            name="Math X",
            subject_id=maths.id,
            teacher_user_id=teacher.user_id,
            level="X",
        )
        phys = academics.create_batch(
            s,
            actor=admin,
            name="Physics XI",
            subject_id=physics.id,
            teacher_user_id=teacher.user_id,
            level="XI",
        )
        ids = {}
        for enr, name in (
            ("ADM-001", "Riya Sharma"),
            ("ADM-002", "Riya Verma"),
            ("ADM-003", "Aman Gupta"),
        ):
            ids[enr] = academics.create_student(s, actor=admin, enrollment_no=enr, name=name).id
        for batch, enr in (
            (math, "ADM-001"),
            (math, "ADM-003"),
            (phys, "ADM-002"),
            (phys, "ADM-003"),
        ):
            academics.join_batch(s, actor=admin, batch_id=batch.id, student_id=ids[enr])
        academics.add_guardian(
            s, actor=admin, student_id=ids["ADM-001"], name="Meera Sharma", telegram_chat_id="5001"
        )
        academics.add_guardian(s, actor=admin, student_id=ids["ADM-003"], name="Ravi Gupta")
        structure = fees.create_structure(
            s,
            actor=admin,
            name="Monthly fees",
            period_kind="month",
            items=[{"name": "Tuition", "amount_minor": 5000_00}],
        )
        session_row = attendance.create_adhoc_session(
            s,
            actor=admin,
            batch_id=math.id,
            day=NOW.date(),
            start_time=time(10, 0),
            duration_minutes=60,
        )
    return World(
        inst,
        admin,
        teacher,
        f.actor_for(counselor_user),
        admin_user.email,
        teacher_user.email,
        math.id,
        phys.id,
        ids["ADM-001"],
        ids["ADM-002"],
        ids["ADM-003"],
        structure.id,
        session_row.id,
    )


def bill_october(db, w: World) -> None:
    """Everyone owes October's ₹5,000, so the payments asked for are not advance credit."""
    with clock.frozen(NOW), db.scope(w.admin) as s:
        fees.invoice_run(
            s,
            actor=w.admin,
            structure_id=w.structure,
            period="2026-10",
            student_ids=[w.riya, w.riya_v, w.aman],
        )
