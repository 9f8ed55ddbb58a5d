"""A small institute for the student portal and the teacher brief, built through the services.

Math A (teacher Tara) holds Asha — the signed-in student — and Zed, whose every detail is
distinctive so a leak shows; Physics B (teacher Omar) holds Yara. "Now" is Tuesday
10 November 2026, 11:30 in Asia/Kolkata.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlmodel import select

from app.academics import service as academics
from app.attendance import service as attendance
from app.attendance.models import ClassSession
from app.core import clock
from app.core.roles import Role
from app.coursework import service as coursework
from app.fees import service as fees
from app.notify import service as notify
from app.risk.models import StudentRiskProfile
from tests import factories as f

NOW = datetime(2026, 11, 10, 6, 0, tzinfo=UTC)  # Tue 11:30 IST
TODAY = date(2026, 11, 10)
# Strings of the other students that must never reach Asha's pages.
FORBIDDEN = (
    "Zed",
    "ZZ-999",
    "9,876",
    "ZEDCOMMENT",
    "revise",
    "7/20",
    "Yara",
    "PHYSICS-ONLY",
    "Physics B",
)


def _take(s, actor, batch_id: int, day: date, marks: dict, topics=None, ratings=None) -> None:
    row = s.exec(
        select(ClassSession).where(ClassSession.batch_id == batch_id, ClassSession.date == day)
    ).one()
    attendance.submit_attendance(
        s,
        actor=actor,
        session_id=row.id,
        marks=marks,
        expected_version=row.version,
        topics=topics,
        understanding=ratings,
    )


def build(db) -> dict:
    inst = f.institute(db, name="Portal Institute", timezone="Asia/Kolkata")
    admin_user = f.user(db, inst, Role.ADMIN, email="head@portal.example")
    tara_user = f.user(
        db,
        inst,
        Role.TEACHER,
        name="Tara Teacher",
        email="tara@portal.example",
        telegram_chat_id="5001",
    )
    omar_user = f.user(db, inst, Role.TEACHER, name="Omar Other", email="omar@portal.example")
    asha_user = f.user(db, inst, Role.STUDENT, name="Asha Mine", email="asha@portal.example")
    zed_user = f.user(db, inst, Role.STUDENT, name="Zed Otherstudent", email="zed@portal.example")
    admin, tara, omar = (f.actor_for(u) for u in (admin_user, tara_user, omar_user))
    with clock.frozen(datetime(2026, 10, 1, 6, 0, tzinfo=UTC)), db.scope(admin) as s:
        math = academics.create_subject(s, actor=admin, name="Mathematics")
        physics = academics.create_subject(s, actor=admin, name="Physics")
        topics = [
            academics.add_topic(s, actor=admin, subject_id=math.id, name=n).id
            for n in ("Fractions", "Decimals", "Percentages")
        ]
        academics.add_topic(s, actor=admin, subject_id=physics.id, name="Motion")
        math_a = academics.create_batch(
            s, actor=admin, name="Math A", subject_id=math.id, teacher_user_id=tara_user.id
        )
        phys_b = academics.create_batch(
            s, actor=admin, name="Physics B", subject_id=physics.id, teacher_user_id=omar_user.id
        )
        for weekday, at in ((0, time(10, 0)), (1, time(17, 0)), (2, time(16, 0))):
            academics.add_schedule(
                s,
                actor=admin,
                batch_id=math_a.id,
                weekday=weekday,
                start_time=at,
                duration_minutes=60,
            )
        academics.add_schedule(
            s,
            actor=admin,
            batch_id=phys_b.id,
            weekday=1,
            start_time=time(9, 0),
            duration_minutes=90,
        )
        asha = academics.create_student(s, actor=admin, enrollment_no="AM-001", name="Asha Mine")
        zed = academics.create_student(
            s, actor=admin, enrollment_no="ZZ-999", name="Zed Otherstudent"
        )
        yara = academics.create_student(s, actor=admin, enrollment_no="YO-555", name="Yara Out")
        asha.user_id, zed.user_id = asha_user.id, zed_user.id
        for st in (asha, zed):
            academics.join_batch(s, actor=admin, batch_id=math_a.id, student_id=st.id)
        academics.join_batch(s, actor=admin, batch_id=phys_b.id, student_id=yara.id)
        # Joining Math A enrolled Asha (and Zed) in Mathematics (issue 22).
        attendance.generate_sessions_internal(
            s, institute_id=inst.id, start=date(2026, 11, 2), end=date(2026, 11, 11)
        )
    ids = {"asha": asha.id, "zed": zed.id, "yara": yara.id}
    # Wed 4 Nov: Fractions taught; Asha late (understood well), Zed present (did not).
    with clock.frozen(datetime(2026, 11, 4, 11, 0, tzinfo=UTC)), db.scope(tara) as s:
        _take(
            s,
            tara,
            math_a.id,
            date(2026, 11, 4),
            {asha.id: "late", zed.id: "present"},
            topics=[topics[0]],
            ratings={asha.id: 5, zed.id: 1},
        )
    # Mon 9 Nov (yesterday): Asha present, Zed absent; Physics B on Tue 3 Nov: Yara absent.
    # Math A meets Mon 10:00, Tue 17:00 and Wed 16:00; Physics B Tue 09:00 (IST).
    with clock.frozen(datetime(2026, 11, 9, 5, 0, tzinfo=UTC)), db.scope(tara) as s:
        _take(s, tara, math_a.id, date(2026, 11, 9), {asha.id: "present", zed.id: "absent"})
    with clock.frozen(datetime(2026, 11, 3, 4, 0, tzinfo=UTC)), db.scope(omar) as s:
        _take(s, omar, phys_b.id, date(2026, 11, 3), {yara.id: "absent"})
    with clock.frozen(datetime(2026, 11, 6, 6, 0, tzinfo=UTC)), db.scope(tara) as s:
        old = coursework.create_homework(
            s,
            actor=tara,
            batch_id=math_a.id,
            title="Fractions drill",
            max_marks=10,
            assigned_on=date(2026, 11, 2),
            due_on=date(2026, 11, 5),
        )
        coursework.mark_homework(
            s,
            actor=tara,
            homework_id=old.id,
            rows=[
                {"student_id": asha.id, "status": "submitted", "marks": 8, "comment": "Neat work"},
                {"student_id": zed.id, "status": "missing", "comment": "ZEDCOMMENT see me"},
            ],
        )
        coursework.create_homework(
            s,
            actor=tara,
            batch_id=math_a.id,
            title="Decimals sheet",
            assigned_on=date(2026, 11, 6),
            due_on=date(2026, 11, 11),
        )
        test = coursework.create_assessment(
            s,
            actor=tara,
            batch_id=math_a.id,
            kind="quiz",
            title="Unit test 1",
            max_marks=20,
            held_on=date(2026, 11, 6),
            subject_id=math.id,
        )
        coursework.enter_marks(
            s,
            actor=tara,
            assessment_id=test.id,
            rows=[
                {"student_id": asha.id, "marks": 18, "feedback": "Well done"},
                {"student_id": zed.id, "marks": 7, "feedback": "Zed must revise"},
            ],
        )
    with db.scope(omar) as s:
        coursework.create_homework(
            s,
            actor=omar,
            batch_id=phys_b.id,
            title="PHYSICS-ONLY lab",
            assigned_on=date(2026, 11, 6),
            due_on=date(2026, 11, 11),
        )
    with clock.frozen(NOW), db.scope(admin) as s:
        for name, amount, who in (
            ("Monthly fee", 1234_00, asha.id),
            ("Special fee", 9876_54, zed.id),
            ("Lab fee", 4321_00, yara.id),
        ):
            structure = fees.create_structure(
                s,
                actor=admin,
                name=name,
                period_kind="month",
                items=[{"name": name, "amount_minor": amount}],
            )
            fees.invoice_run(
                s, actor=admin, structure_id=structure.id, period="2026-11", student_ids=[who]
            )
        for who, reason in ((zed.id, "Attendance 50% in 30 days"), (yara.id, "Yara absent")):
            s.add(
                StudentRiskProfile(
                    institute_id=inst.id,
                    student_id=who,
                    score=30,
                    level="HIGH",
                    reasons=[reason],
                    flags=[],
                )
            )
        notify.announce(s, actor=admin, title="Holiday on Friday", body="The centre is closed.")
    with clock.frozen(NOW), db.scope(tara) as s:
        notify.announce(
            s, actor=tara, title="Bring calculators", body="For Thursday.", batch_id=math_a.id
        )
    with clock.frozen(NOW), db.scope(omar) as s:
        notify.announce(
            s, actor=omar, title="PHYSICS-ONLY notice", body="Lab coats.", batch_id=phys_b.id
        )
    return {
        "inst": inst,
        "admin": admin_user,
        "tara": tara_user,
        "omar": omar_user,
        "asha_user": asha_user,
        "zed_user": zed_user,
        "math_a": math_a.id,
        "phys_b": phys_b.id,
        "topics": topics,
        **ids,
    }
